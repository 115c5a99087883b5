import { readFileSync } from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ClickHouse } from '@distlog/collector/storage';
import { dropTestDatabase, eventually } from '@distlog/collector/testing';
import { buildApp } from '@distlog/query-ui';
import type { CollectorProcess } from '../support/collector-process';
import { DISTLOG_BIN, collectorWithDatabase, fastMetricsConfig } from '../support/collector-process';
import { runShop } from '../support/shop';
import { otlpJson, postCallWithClockBehind, postJson } from '../support/otlp-json';
import { listenQueryApi } from '../support/query-api';
import { listGhostCollector } from '../support/registry';
import { PrefixProxy } from '../support/prefix-proxy';

let ch: ClickHouse;
let collector: CollectorProcess;
let app: FastifyInstance;
let traces: string[];
let base: string;
const tag = randomUUID().slice(0, 8);

beforeAll(async () => {
  ({ ch, collector } = await collectorWithDatabase('e2e_query', { config: fastMetricsConfig() }));
  traces = await runShop(collector.grpcPort, 5);
  // Records with characters that SQL must never see raw.
  await postJson(
    collector.httpPort,
    otlpJson("o'brien", [
      {
        body: `${tag} quote ' and backslash \\ and newline \n end`,
        attributes: { "k'ey": "va'lue", path: 'C:\\temp' },
      },
      { body: `${tag} plain`, attributes: { region: 'eu' }, severityNumber: 13 },
    ]),
  );
  await eventually(async () => {
    const [r] = await ch.query<{ n: string }>(
      `SELECT count() AS n FROM ${ch.database}.all_logs WHERE EventName = 'distlog.scope.end' AND TraceId IN (${traces.map((t) => `'${t}'`).join(',')})`,
    );
    return Number(r.n) >= 5 * 6;
  }, 20_000);
  ({ app, base } = await listenQueryApi(ch, { sqlMaxSeconds: 1 }));
}, 60_000);

afterAll(async () => {
  await app?.close();
  await collector?.stop();
  await dropTestDatabase(ch);
});

async function get<T = Record<string, unknown>>(url: string): Promise<{ status: number; body: T }> {
  const res = await fetch(base + url);
  return { status: res.status, body: (await res.json()) as T };
}

interface Rec {
  id: string;
  time: string;
  timeUnixNano: string;
  service: string;
  severityNumber: number;
  severityText: string;
  scope: string;
  body: string;
  traceId: string;
  spanId: string;
  tier: string;
  attributes: Record<string, string>;
  resource: Record<string, string>;
}

describe('query API on records written by the three-service example through the collector', () => {
  it('searches by service and minimum severity, newest first, with cursor pagination', async () => {
    const all = await get<{ records: Rec[] }>('/api/search?service=orders&minSeverity=INFO&limit=1000');
    expect(all.status).toBe(200);
    expect(all.body.records.length).toBeGreaterThan(10);
    expect(all.body.records.every((r) => r.service === 'orders' && r.severityNumber >= 9)).toBe(true);
    const times = all.body.records.map((r) => BigInt(r.timeUnixNano));
    expect(times).toEqual([...times].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0)));
    const first = await get<{ records: Rec[]; nextCursor: string }>(
      '/api/search?service=orders&minSeverity=INFO&limit=3',
    );
    const second = await get<{ records: Rec[] }>(
      `/api/search?service=orders&minSeverity=INFO&limit=3&cursor=${first.body.nextCursor}`,
    );
    expect([...first.body.records, ...second.body.records].map((r) => r.id)).toEqual(
      all.body.records.slice(0, 6).map((r) => r.id),
    );
    const errors = await get<{ records: Rec[] }>('/api/search?minSeverity=ERROR&service=orders');
    expect(errors.body.records.map((r) => r.body)).toEqual(expect.arrayContaining(['order failed']));
  });

  it('filters by text, regular expression, attribute value and presence, logger and tier', async () => {
    const text = await get<{ records: Rec[] }>(
      `/api/search?text=${encodeURIComponent(tag.toUpperCase() + ' PLAIN')}`,
    );
    expect(text.body.records.map((r) => r.body)).toEqual([`${tag} plain`]);
    const regex = await get<{ records: Rec[] }>(
      `/api/search?regex=${encodeURIComponent('^charging [0-9.]+ EUR')}`,
    );
    expect(regex.body.records.length).toBe(4); // the fifth checkout failed before payment
    const attr = await get<{ records: Rec[] }>('/api/search?attr=region%3Deu');
    expect(attr.body.records.map((r) => r.body)).toEqual([`${tag} plain`]);
    const has = await get<{ records: Rec[] }>('/api/search?has=paymentId&service=orders');
    expect(has.body.records.length).toBe(4);
    const db = await get<{ records: Rec[] }>('/api/search?scope=db&service=orders&limit=1000');
    expect(db.body.records.length).toBeGreaterThan(0);
    expect(db.body.records.every((r) => r.scope === 'db')).toBe(true);
    const trace = await get<{ records: Rec[] }>(`/api/trace/${traces[0]}`);
    const charge = trace.body.records.find((r) => r.body.startsWith('charging'))!;
    const scoped = await get<{ records: Rec[] }>(`/api/search?traceId=${traces[0]}&spanId=${charge.spanId}`);
    expect(scoped.body.records.map((r) => r.body.split(' ')[0]).sort()).toEqual([
      'charge',
      'charge',
      'charged',
      'charging',
    ]);
    expect(scoped.body.records.every((r) => r.spanId === charge.spanId)).toBe(true);
    expect(scoped.body.records.length).toBe(4); // start, two console records, end
    const debugTier = await get<{ records: Rec[] }>('/api/search?tier=debug&limit=1000');
    expect(debugTier.body.records.length).toBeGreaterThan(0);
    expect(debugTier.body.records.every((r) => r.tier === 'debug' && r.severityNumber < 9)).toBe(true);
  });

  it('refuses bad filters with 400 and a message naming the parameter', async () => {
    expect(await get('/api/search?minSeverity=LOUD')).toEqual({
      status: 400,
      body: { error: 'minSeverity: expected TRACE, DEBUG, INFO, WARN, ERROR, FATAL or 1-24, got "LOUD"' },
    });
    expect((await get('/api/search?since=yesterday')).body).toEqual({
      error: 'since: expected a duration such as 15m, 2h or 7d, got "yesterday"',
    });
    expect((await get('/api/search?traceId=xyz')).body).toEqual({
      error: 'traceId: expected 32 hex digits, got "xyz"',
    });
    const badRegex = await get<{ error: string }>(`/api/search?regex=${encodeURIComponent('(unclosed')}`);
    expect(badRegex.status).toBe(400);
    expect(badRegex.body.error).toMatch(/regexp|regular expression|missing \)/i);
    expect((await get('/api/search?limit=0')).status).toBe(400);
    expect((await get('/api/search?colour=red')).status).toBe(400);
  });

  it('counts per time bucket and severity for the histogram, and lists facets', async () => {
    const search = await get<{ records: Rec[] }>('/api/search?service=payments&limit=10000');
    const hist = await get<{
      bucketMs: number;
      buckets: Array<{ t: number; severity: string; count: number }>;
    }>('/api/histogram?service=payments&buckets=30');
    expect(hist.body.buckets.reduce((n, b) => n + b.count, 0)).toBe(search.body.records.length);
    expect(hist.body.bucketMs).toBe(120_000);
    // A query in the search language counts the same records (it was left out of the
    // per-minute rollup's answer once: a field-only query counted every service).
    const total = (h: { buckets: Array<{ count: number }> }) => h.buckets.reduce((n, b) => n + b.count, 0);
    const byQuery = await get<{ buckets: Array<{ count: number }> }>(
      `/api/histogram?q=${encodeURIComponent('service:payments')}&buckets=30`,
    );
    expect(total(byQuery.body)).toBe(search.body.records.length);
    const facets = await get<{
      services: string[];
      scopes: string[];
      attributeKeys: string[];
      tiers: string[];
    }>('/api/facets');
    expect(facets.body.services).toEqual(
      expect.arrayContaining(['gateway', 'orders', 'payments', "o'brien"]),
    );
    expect(facets.body.scopes).toEqual(
      expect.arrayContaining(['db', 'console', 'distlog.scope', 'gateway', 'orders']),
    );
    expect(facets.body.attributeKeys).toEqual(
      expect.arrayContaining(['orderId', 'scope.name', 'http.method']),
    );
    expect(facets.body.tiers).toEqual(expect.arrayContaining(['logs', 'debug', 'longterm']));
    // Counts: from the per-minute rollup for a plain filter, from the records otherwise — the same.
    type Counts = { total: number; counts: Record<string, Array<{ value: string; count: number }>> };
    const fromRollup = await get<Counts>('/api/facets?service=orders&service=payments&minSeverity=info');
    const fromRecords = await get<Counts>(
      `/api/facets?service=orders&service=payments&minSeverity=info&q=${encodeURIComponent('-"never in any message"')}`,
    );
    expect(fromRollup.body.counts).toEqual(fromRecords.body.counts);
    expect(fromRollup.body.total).toBe(fromRecords.body.total);
    const [raw] = await ch.query<{ n: string }>(
      `SELECT count() AS n FROM ${ch.database}.all_logs WHERE ServiceName IN ('orders', 'payments') AND SeverityNumber >= 9`,
    );
    expect(fromRollup.body.total).toBe(Number(raw.n));
    expect(fromRollup.body.counts.severity.map((x) => x.value).sort()).toEqual(['ERROR', 'INFO']);
  });

  it('returns a whole trace across services and tiers with its scope tree, errors marked', async () => {
    const ok = await get<{
      records: Rec[];
      services: string[];
      tiers: string[];
      tree: { roots: Array<{ name: string; children: unknown[] }> };
    }>(`/api/trace/${traces[0]}`);
    expect(ok.body.services).toEqual(['gateway', 'orders', 'payments']);
    expect(ok.body.tiers).toEqual(['debug', 'logs', 'longterm']);
    expect(ok.body.tree.roots.map((r) => r.name)).toEqual(['GET /checkout']);
    const failed = await get<{ tree: { roots: Array<Node> } }>(`/api/trace/${traces[4]}`);
    type Node = { name: string; status: string; error?: string; children: Node[] };
    const all = (ns: Node[]): Node[] => ns.flatMap((n) => [n, ...all(n.children)]);
    const reserve = all(failed.body.tree.roots).find((n) => n.name === 'reserve stock')!;
    expect(reserve).toMatchObject({ status: 'error', error: 'unobtainium is out of stock' });
    expect((await get(`/api/trace/${'0'.repeat(31)}1`)).body).toMatchObject({ records: [] });
  });

  it('shows the records around one record in the same service and instance', async () => {
    const { body } = await get<{ records: Rec[] }>('/api/search?service=payments&text=charged&limit=10');
    expect(body.records.map((r) => r.body.slice(0, 7))).toEqual(['charged', 'charged', 'charged', 'charged']);
    const target = body.records[2];
    const ctx = await get<{ record: Rec; before: Rec[]; after: Rec[] }>(
      `/api/context/${target.id}?before=3&after=3`,
    );
    expect({ status: ctx.status, id: ctx.body.record?.id }).toEqual({ status: 200, id: target.id });
    expect(ctx.body.before).toHaveLength(3);
    expect(ctx.body.after).toHaveLength(3);
    for (const r of [...ctx.body.before, ...ctx.body.after]) {
      expect(r.service).toBe('payments');
      expect(r.resource['service.instance.id']).toBe(target.resource['service.instance.id']);
    }
    expect(BigInt(ctx.body.before[2].timeUnixNano)).toBeLessThanOrEqual(BigInt(target.timeUnixNano));
    expect(BigInt(ctx.body.after[0].timeUnixNano)).toBeGreaterThanOrEqual(BigInt(target.timeUnixNano));
    expect((await get('/api/context/not-an-id')).status).toBe(400);
  });

  it('runs read-only SQL with a time limit', async () => {
    const post = async (sql: string) => {
      const res = await fetch(`${base}/api/sql`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ sql }),
      });
      return { status: res.status, body: (await res.json()) as { columns: string[]; error: string } };
    };
    const ok = await post(
      `SELECT ServiceName, count() AS n FROM ${ch.database}.all_logs GROUP BY ServiceName ORDER BY ServiceName`,
    );
    expect(ok.status).toBe(200);
    expect(ok.body.columns).toEqual(['ServiceName', 'n']);
    const write = await post(`INSERT INTO ${ch.database}.logs (Body) VALUES ('x')`);
    expect(write.status).toBe(400);
    expect(write.body.error).toMatch(/readonly/i);
    const drop = await post(`DROP TABLE ${ch.database}.logs`);
    expect(drop.status).toBe(400);
    const slow = await post('SELECT count() FROM system.numbers');
    expect(slow.status).toBe(400);
    expect(slow.body.error).toMatch(/timeout|time limit|exceeded/i);
  });

  it('never lets filter values change the SQL (injection through every filter, real server)', async () => {
    const attacks = [
      "x' OR '1'='1",
      "x\\' OR 1=1 --",
      "'); DROP TABLE logs; --",
      "\\'",
      "a\nb' OR 1=1",
      "%' OR ''='",
    ];
    const total = Number(
      (await ch.query<{ n: string }>(`SELECT count() AS n FROM ${ch.database}.all_logs`))[0].n,
    );
    for (const attack of attacks) {
      const v = encodeURIComponent(attack);
      for (const param of ['service', 'scope', 'text', 'tier', 'has']) {
        const res = await get<{ records: Rec[] }>(`/api/search?${param}=${v}&since=30d`);
        expect({ param, attack, status: res.status, n: res.body.records.length }).toEqual({
          param,
          attack,
          status: 200,
          n: 0,
        });
      }
      const attr = await get<{ records: Rec[] }>(
        `/api/search?attr=${encodeURIComponent(`${attack}=${attack}`)}`,
      );
      expect(attr.body.records).toEqual([]);
      const facets = await get<{ services: string[] }>(`/api/facets?service=${v}`);
      expect(facets.body.services).toEqual([]);
    }
    // Quotes and backslashes as data are found exactly.
    const quoted = await get<{ records: Rec[] }>(
      `/api/search?service=${encodeURIComponent("o'brien")}&attr=${encodeURIComponent("k'ey=va'lue")}`,
    );
    expect(quoted.body.records.map((r) => r.attributes.path)).toEqual(['C:\\temp']);
    const text = await get<{ records: Rec[] }>(
      `/api/search?text=${encodeURIComponent("quote ' and backslash \\ and")}`,
    );
    expect(text.body.records).toHaveLength(1);
    expect(
      Number((await ch.query<{ n: string }>(`SELECT count() AS n FROM ${ch.database}.all_logs`))[0].n),
    ).toBe(total);
  });
});

describe('console verbs through the API', () => {
  let server: { port: number; close: () => Promise<void> };
  beforeAll(async () => {
    const live = await buildApp({ ch });
    await live.listen({ port: 0, host: '127.0.0.1' });
    const address = live.server.address();
    server = { port: typeof address === 'object' && address ? address.port : 0, close: () => live.close() };
  });
  afterAll(() => server.close());

  function distlog(
    args: string[],
    api = `http://127.0.0.1:${server.port}`,
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [DISTLOG_BIN, ...args], {
        env: { ...process.env, DISTLOG_API: api, NO_COLOR: '1' },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c) => (stdout += c));
      child.stderr.on('data', (c) => (stderr += c));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
  }

  it('`search --json` prints one object per line with the documented fields', async () => {
    const { code, stdout } = await distlog([
      'search',
      '--service',
      'payments',
      '--min-severity',
      'info',
      '--since',
      '1h',
      '--json',
    ]);
    expect(code).toBe(0);
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.length).toBeGreaterThan(5);
    for (const l of lines) {
      expect(Object.keys(l)).toEqual(
        expect.arrayContaining([
          'time',
          'timeUnixNano',
          'service',
          'severityText',
          'severityNumber',
          'scope',
          'eventName',
          'body',
          'traceId',
          'spanId',
          'attributes',
          'resource',
          'tier',
        ]),
      );
      expect(l.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
      expect(typeof l.timeUnixNano).toBe('string');
      expect(l.service).toBe('payments');
    }
    const pretty = await distlog(['search', '--service', 'payments', '--text', 'charged']);
    expect(pretty.stdout).toMatch(
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} INFO {2}payments\/console: charged \{ paymentId: 'pay-\d' \}/m,
    );
  });

  it('names the severity of a record sent with a number only (OTLP leaves the text optional)', async () => {
    const found = await distlog([
      'search',
      '--service',
      "o'brien",
      '--text',
      `${tag} plain`,
      '--since',
      '1h',
    ]);
    expect({ code: found.code, stderr: found.stderr }).toEqual({ code: 0, stderr: '' });
    expect(found.stdout).toMatch(new RegExp(`^\\S+ \\S+ WARN {2}o'brien/test: ${tag} plain`, 'm'));
    // The stored text stays what the sender sent: empty.
    const [json] = (
      await distlog(['search', '--service', "o'brien", '--text', `${tag} plain`, '--since', '1h', '--json'])
    ).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Rec);
    expect({ text: json.severityText, number: json.severityNumber }).toEqual({ text: '', number: 13 });
  });

  it('a search piped to another program gets all of its output (not the first 64 KiB)', async () => {
    // The helper's stdout is a pipe, as in `distlog search --json | jq`: the CLI exited before the pipe took it all.
    const service = `piped-${randomUUID().slice(0, 8)}`;
    const bodies = ['a', 'b', 'c'].map((c) => `${c} ${c.repeat(150_000)}`);
    const at = (i: number) => (BigInt(Date.now() - 60_000 + i) * 1_000_000n).toString();
    await postJson(
      collector.httpPort,
      otlpJson(
        service,
        bodies.map((body, i) => ({ body, timeUnixNano: at(i) })),
      ),
    );
    await eventually(
      async () => (await distlog(['search', '--service', service, '--since', '1h'])).code === 0,
      20_000,
    );
    const out = await eventually(async () => {
      const r = await distlog(['search', '--service', service, '--since', '1h', '--json']);
      // Before: 65 536 bytes, whatever the records.
      const lines = r.stdout
        .trim()
        .split('\n')
        .filter((l) => l !== '');
      return lines.length === 3 ? r : undefined;
    }, 20_000);
    if (!out) throw new Error('unreachable: eventually() returns a found value');
    expect(out.stdout.length).toBeGreaterThan(450_000);
    const got = out.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as Rec).body)
      .sort();
    expect(got).toEqual(bodies);
  });

  it("`tree` says when a service's clock is evidently behind its caller's", async () => {
    // Called by the gateway, stamped 300 ms before the gateway's scope began: that host runs behind.
    const traceId = await postCallWithClockBehind(
      collector.httpPort,
      { service: 'skew-gateway', scope: 'GET /cart' },
      { service: 'skew-cart', scope: 'load cart' },
      300,
    );
    await eventually(async () => (await distlog(['tree', traceId])).stdout.includes('load cart'), 20_000);
    const t = await distlog(['tree', traceId]);
    expect(t.code).toBe(0);
    expect(t.stdout).toContain(
      `note: skew-cart's clock is at least 300 ms behind skew-gateway's: "load cart" [skew-cart] starts before ` +
        '"GET /cart" [skew-gateway], which called it',
    );
    const json = JSON.parse((await distlog(['tree', traceId, '--json'])).stdout);
    expect(json.clockNotes).toHaveLength(1);
  });

  it("`tree` groups another SDK's records by their spans (no scope records)", async () => {
    const traceId = randomUUID().replace(/-/g, '');
    const [outer, inner] = ['a1', 'b2'].map((p) => p + randomUUID().replace(/-/g, '').slice(0, 14));
    const at = (ms: number) => (BigInt(Date.now() - 60_000 + ms) * 1_000_000n).toString();
    await postJson(
      collector.httpPort,
      otlpJson('plain-otel', [
        { body: 'request in', traceId, spanId: outer, timeUnixNano: at(0) },
        { body: 'select 1', traceId, spanId: inner, timeUnixNano: at(1) },
        { body: 'db timeout', traceId, spanId: inner, timeUnixNano: at(2), severityNumber: 17 },
        { body: 'responding 500', traceId, spanId: outer, timeUnixNano: at(3) },
        { body: 'no span', traceId, timeUnixNano: at(4) },
      ]),
    );
    await eventually(async () => (await distlog(['tree', traceId])).stdout.includes('no span'), 20_000);
    const t = await distlog(['tree', traceId]);
    expect({ code: t.code, stderr: t.stderr }).toEqual({ code: 0, stderr: '' });
    expect(t.stdout.trim().split('\n').slice(1)).toEqual([
      `span ${outer} [plain-otel]`,
      '   · request in',
      '   · responding 500',
      `span ${inner} [plain-otel]`,
      '   · select 1',
      '   · db timeout',
      'outside any span:',
      '  plain-otel: no span',
    ]);
  });

  it('`tree` draws the scope tree of a trace; `context` shows the neighbours of a record', async () => {
    const t = await distlog(['tree', traces[4]]);
    expect({ code: t.code, stderr: t.stderr }).toEqual({ code: 0, stderr: '' });
    expect(t.stdout).toContain('GET /checkout [gateway]');
    expect(t.stdout).toMatch(/└─ reserve stock \[orders\] [\d.]+ ms ✗ unobtainium is out of stock/);
    const short = await distlog(['tree', 'deadbeef']);
    expect({ code: short.code, stderr: short.stderr }).toEqual({
      code: 2,
      stderr:
        'distlog: a trace id is 32 hexadecimal characters (as `distlog search` prints after trace=), got "deadbeef"\n',
    });
    const [one] = (
      await distlog(['search', '--service', 'orders', '--text', 'order placed', '--json', '--limit', '1'])
    ).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const c = await distlog(['context', one.id, '--before', '2', '--after', '2']);
    expect(c.code).toBe(0);
    expect(c.stdout.split('\n').filter((l) => l.startsWith('>'))).toHaveLength(1);
    expect((await distlog(['tree'])).code).toBe(2);
  });

  it('`metrics` lists the declared metrics and prints one over time, as a table and as JSON', async () => {
    const list = await distlog(['metrics']);
    expect({ code: list.code, stderr: list.stderr }).toEqual({ code: 0, stderr: '' });
    expect(list.stdout).toMatch(/^NAME +KIND +VALUE +BY +KEPT +DESCRIPTION$/m);
    expect(list.stdout).toMatch(
      /^scope_duration_ms +distribution +scope\.duration_ms +service\.name, scope\.name +1830 d /m,
    );
    const [raw] = await ch.query<{ n: string }>(
      `SELECT count() AS n FROM ${ch.database}.all_logs WHERE EventName = 'distlog.scope.end'
       AND ServiceName = 'payments' AND LogAttributes.value[indexOf(LogAttributes.key, 'scope.name')] = 'charge card'`,
    );
    const args = [
      'metrics',
      'scope_duration_ms',
      '--since',
      '1h',
      '--by',
      'service.name',
      '--where',
      'scope.name=charge card',
    ];
    // The rollups are written every half second here: wait until they hold every scope.
    const table = (await eventually(async () => {
      const r = await distlog(args);
      const counts = [...r.stdout.matchAll(/^\d{4}-\d\d-\d\d \d\d:\d\d +payments +(\d+) /gm)].map((m) =>
        Number(m[1]),
      );
      return counts.reduce((a, b) => a + b, 0) === Number(raw.n) ? r : undefined;
    }, 10_000))!;
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(
      /^scope_duration_ms \(ms\): distribution of scope\.duration_ms, step 1 min, from metric_minutes \(quantiles within 1 %\)$/m,
    );
    expect(table.stdout).toMatch(/^TIME \(UTC\) +SERVICE\.NAME +COUNT +P50 +P95 +P99$/m);
    const json = JSON.parse((await distlog([...args, '--json'])).stdout);
    expect(json.series.map((s: { labels: object }) => s.labels)).toEqual([{ 'service.name': 'payments' }]);
    const unknown = await distlog(['metrics', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(
      'no metric named "nope" (declared: records, scope_duration_ms, usage_events)',
    );
    expect((await distlog(['metrics', 'a', 'b'])).code).toBe(2);
  });

  it('`search` and `patterns` take a query in the search language; a mistake is named with its position', async () => {
    const found = await distlog(['search', 'service:payments charging', '--since', '1h', '--json']);
    expect(found.code).toBe(0);
    const bodies = found.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).body as string);
    expect(bodies.length).toBe(4);
    for (const b of bodies) expect(b).toMatch(/^charging [\d.]+ EUR for order \d+$/);
    const patterns = await distlog(['patterns', 'service:payments', '--since', '1h']);
    expect({ code: patterns.code, stderr: patterns.stderr }).toEqual({ code: 0, stderr: '' });
    expect(patterns.stdout).toMatch(/^ID +COUNT +ERRORS +NEW +LAST SEEN +SPARKLINE +SERVICES +PATTERN$/m);
    const line = patterns.stdout.split('\n').find((l) => l.endsWith('charging <num> EUR for order <num>'))!;
    expect(line).toMatch(/^[0-9a-f]+ +4 +0 +new /);
    // The pattern's id finds its records again.
    const id = line.split(' ')[0];
    const again = await distlog(['search', `pattern:${id}`, '--since', '1h', '--json']);
    expect(again.stdout.trim().split('\n')).toHaveLength(4);
    const json = await distlog(['patterns', '--since', '1h', '--errors', '--json']);
    const first = JSON.parse(json.stdout.split('\n')[0]);
    expect(first.errors).toBeGreaterThan(0);
    expect(first.traceId).toMatch(/^[0-9a-f]{32}$/);
    // The issue's example question in the shop's terms, one line on the console.
    const [refused] = await ch.query<{ id: string }>(
      `SELECT LogAttributes.value[indexOf(LogAttributes.key, 'orderId')] AS id FROM ${ch.database}.all_logs
       WHERE ServiceName = 'gateway' AND Body = 'checkout refused' LIMIT 1`,
    );
    const question = await distlog([
      'search',
      `severity>=warn (service:gateway OR service:orders) orderId:${refused.id} (refused OR failed) -logger:distlog.scope`,
      '--since',
      '1h',
      '--json',
    ]);
    expect(
      question.stdout
        .trim()
        .split('\n')
        .map((l) => {
          const r = JSON.parse(l);
          return `${r.service} ${r.severityText}: ${r.body}`;
        })
        .sort(),
    ).toEqual(['gateway ERROR: checkout refused', 'orders ERROR: order failed']);
    const bad = await distlog(['search', 'service:orders (timeout']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('distlog: q: at 16: this parenthesis is not closed (a ) is missing)');
  });

  it('work behind a reverse proxy at a path, and say so when DISTLOG_API lacks the path', async () => {
    const proxy = new PrefixProxy(`http://127.0.0.1:${server.port}`, '/ops/distlog');
    const front = await proxy.start();
    try {
      const through = await distlog(
        ['search', '--service', 'payments', '--since', '1h', '--json'],
        `${front}/ops/distlog`,
      );
      expect(through.code).toBe(0);
      const services = through.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).service);
      expect(services.length).toBeGreaterThan(5);
      expect(new Set(services)).toEqual(new Set(['payments']));
      // Without the path: the proxy's own 404 page, said as such (it was a JSON parse error).
      for (const args of [['search', '--since', '1h'], ['level', 'list'], ['tail']]) {
        const wrong = await distlog(args, front);
        expect(wrong.code).toBe(1);
        expect(wrong.stderr).toContain(`${front}/api/`);
        expect(wrong.stderr).toContain(
          'answered HTTP 404 with text/html, not the Distlog API: is DISTLOG_API right',
        );
      }
    } finally {
      await proxy.stop();
    }
  });

  it('`status` lists the running collector with its version, readiness, spool and counts; names one that does not answer', async () => {
    const { version } = JSON.parse(
      readFileSync(path.resolve(__dirname, '../../collector/package.json'), 'utf8'),
    );
    const ok = await distlog(['status']);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(
      /^COLLECTOR +ADDRESS +VERSION +UP +READY +SPOOL +SET ASIDE +RECEIVED +REFUSED +STORED +SENDERS$/m,
    );
    expect(ok.stdout).toMatch(
      new RegExp(
        `:${collector.httpPort} +${version.replace(/\./g, '\\.')} +\\d+m \\d\\ds +yes +0 +0 +[1-9]\\d* +\\d+ +[1-9]\\d*`,
      ),
    );
    const json = await distlog(['status', '--json']);
    const status = JSON.parse(json.stdout);
    expect(status.problems).toEqual([]);
    expect(status.collectors).toHaveLength(1);
    expect(status.collectors[0].status).toMatchObject({
      version,
      node: expect.stringMatching(/^v\d+/),
      ready: true,
      clickhouse: { database: ch.database },
      spool: { batches: 0, setAsideBatches: 0, full: false },
    });
    expect(status.collectors[0].status.records.stored).toBeGreaterThan(0);

    // A column dropped by hand from a tier table: named as the problem it is (exit 1), until it is back.
    const [{ type }] = await ch.query<{ type: string }>(
      `SELECT type FROM system.columns WHERE database = '${ch.database}' AND table = 'debug' AND name = 'ScopeVersion'`,
    );
    await ch.command(`ALTER TABLE ${ch.database}.debug DROP COLUMN ScopeVersion`);
    try {
      const changed = await distlog(['status']);
      expect(changed.code).toBe(1);
      expect(changed.stderr).toContain(
        `distlog status: table ${ch.database}.debug (tier debug) lacks columns the collector writes: ScopeVersion; its inserts are refused`,
      );
    } finally {
      await ch.command(`ALTER TABLE ${ch.database}.debug ADD COLUMN ScopeVersion ${type} AFTER ScopeName`);
    }
    expect((await distlog(['status'])).code).toBe(0);

    // A collector listed as running that does not answer (killed without saying so): named, exit 1.
    const ghost = `ghost-${tag}`;
    const forget = await listGhostCollector(ch, ghost);
    try {
      const down = await distlog(['status']);
      expect(down.code).toBe(1);
      expect(down.stdout).toContain(`${ghost}`);
      expect(down.stderr).toContain(
        `distlog status: collector ${ghost} at http://127.0.0.1:1 does not answer: `,
      );
    } finally {
      await forget(); // said stopped: no longer listed (nor tailed)
    }
  });

  it('`tail` prints records that arrive after it started', async () => {
    const child = spawn(process.execPath, [DISTLOG_BIN, 'tail', 'service:tailed -skipped', '--json'], {
      env: { ...process.env, DISTLOG_API: `http://127.0.0.1:${server.port}` },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    // Live once it says so: records sent from then on must arrive.
    await eventually(async () => err.includes('distlog tail: live from 1 collector'), 10_000);
    await postJson(
      collector.httpPort,
      otlpJson('tailed', [{ body: `${tag} live 1` }, { body: `${tag} skipped` }, { body: `${tag} live 2` }]),
    );
    const seen = await eventually(async () => out.includes(`${tag} live 2`), 10_000);
    child.kill('SIGINT');
    expect(seen).toBe(true);
    const bodies = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).body);
    expect(bodies).toEqual([`${tag} live 1`, `${tag} live 2`]);
  });
});
