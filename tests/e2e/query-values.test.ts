import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import fc from 'fast-check';
import type { ClickHouse } from '@distlog/collector/storage';
import { dropTestDatabase, eventually } from '@distlog/collector/testing';
import type { CollectorProcess } from '../support/collector-process';
import { collectorWithDatabase } from '../support/collector-process';
import { otlpJson, postJson } from '../support/otlp-json';
import { listenQueryApi } from '../support/query-api';

/**
 * Every string a user types reaches SQL through one module (SqlValues): as `{pN:String}`
 * query parameters on servers that have them (current ClickHouse, the embedded store), as
 * escaped literals on 18.16. Arbitrary strings — quotes, backslashes, braces and colons
 * (the placeholder syntax), control characters, wildcards, non-ASCII — stored as service
 * names, attribute keys and values and message text are found again by exactly those
 * strings through the query API, and nothing else is.
 */
let ch: ClickHouse;
let collector: CollectorProcess;
let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  ({ ch, collector } = await collectorWithDatabase('e2e_query_values'));
  ({ app, base } = await listenQueryApi(ch));
}, 60_000);

afterAll(async () => {
  await app?.close();
  await collector?.stop();
  await dropTestDatabase(ch);
});

const hostile = fc.constantFrom(
  "'",
  '\\',
  '"',
  '`',
  '{',
  '}',
  ':',
  '{p0:String}',
  '\n',
  '\t',
  '%',
  '_',
  '*',
  '?',
  ';',
  '--',
  '/*',
  ' ',
  'ü',
  '✓',
  '🚀',
  '\x01',
);
const text = (min: number) =>
  fc.string({
    minLength: min,
    maxLength: 12,
    unit: fc.oneof(hostile, fc.string({ minLength: 1, maxLength: 1 })),
  });

/** Sends one record per case and waits until all are stored. */
async function store(
  cases: Array<{ service: string; body: string; key: string; value: string }>,
  tag: string,
): Promise<void> {
  for (const c of cases) {
    const sent = await postJson(
      collector.httpPort,
      otlpJson(c.service, [{ body: c.body, attributes: { [c.key]: c.value } }]),
    );
    expect(sent.status).toBe(200);
  }
  await eventually(async () => {
    const [r] = await ch.query<{ n: string }>(
      `SELECT count() AS n FROM ${ch.database}.all_logs WHERE positionCaseInsensitive(Body, '${tag}') > 0`,
    );
    return Number(r.n) >= cases.length;
  }, 20_000);
}

it('uses query parameters where the server has them, escaped literals where not', () => {
  const v = ch.values();
  expect(v.str("a'b")).toBe(ch.features.queryParameters ? '{p0:String}' : "'a\\'b'");
  expect(v.params).toEqual(ch.features.queryParameters ? { p0: "a'b" } : {});
});

it('finds records by arbitrary service names, attribute keys and values and text, and only them', async () => {
  const tag = randomUUID().slice(0, 8);
  const samples = fc.sample(
    fc.record({
      service: text(1),
      key: text(1).filter((k) => !k.includes('=')),
      value: text(0),
      words: text(1),
    }),
    { numRuns: 25, seed: 20261202 },
  );
  const cases = samples.map((s, i) => ({
    service: `qv ${tag} ${i} ${s.service}`,
    key: `k${i}${s.key}`,
    value: s.value,
    body: `${tag} #${i}# ${s.words}`,
    words: s.words,
  }));
  await store(cases, tag);
  for (const c of cases) {
    const q = new URLSearchParams({ since: '1h', service: c.service, text: c.words });
    q.append('attr', `${c.key}=${c.value}`);
    const res = await fetch(`${base}/api/search?${q}`);
    const json = (await res.json()) as { records?: Array<{ body: string; service: string }>; error?: string };
    expect({ case: c, status: res.status, error: json.error }).toEqual({
      case: c,
      status: 200,
      error: undefined,
    });
    expect({ case: c, found: json.records!.map((r) => [r.service, r.body]) }).toEqual({
      case: c,
      found: [[c.service, c.body]],
    });
  }
});

/** A value as the search language reads it inside double quotes. */
const quoted = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

it('finds the same records by the same arbitrary strings written in the search language (q=)', async () => {
  const tag = randomUUID().slice(0, 8);
  const samples = fc.sample(fc.record({ service: text(1), value: text(1), words: text(1) }), {
    numRuns: 25,
    seed: 20261203,
  });
  const cases = samples.map((s, i) => ({
    service: `ql ${tag} ${i} ${s.service}`,
    key: `attr.k${i}`,
    value: s.value,
    body: `${tag} #${i}# ${s.words}`,
    words: s.words,
  }));
  await store(cases, tag);
  for (const c of cases) {
    const query = `service:${quoted(c.service)} ${c.key}:${quoted(c.value)} ${quoted(c.words)} -${quoted(`#${cases.length + 1}#`)}`;
    const res = await fetch(`${base}/api/search?${new URLSearchParams({ since: '1h', q: query })}`);
    const json = (await res.json()) as { records?: Array<{ body: string; service: string }>; error?: string };
    expect({ query, status: res.status, error: json.error }).toEqual({
      query,
      status: 200,
      error: undefined,
    });
    expect({ query, found: json.records!.map((r) => [r.service, r.body]) }).toEqual({
      query,
      found: [[c.service, c.body]],
    });
  }
});
