import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RunningCollector } from '../collector';
import { startCollector } from '../collector';
import type { ClickHouse } from '../storage/clickhouse';
import {
  createTestDatabase,
  dropTestDatabase,
  eventually,
  testClickHouseUrl,
} from '../testing/test-database';

// Two collectors on one ClickHouse, as behind a load balancer: the level rules and the
// processes that follow them are the same whichever one is asked.
let ch: ClickHouse;
let a: RunningCollector;
let b: RunningCollector;
let legacyFile: string;

const start = (levelsFile?: string) =>
  startCollector({
    clickhouse: { url: testClickHouseUrl(), database: ch.database },
    grpc: { port: 0 },
    http: { port: 0 },
    batch: { maxDelayMs: 20 },
    spoolDir: false,
    ...(levelsFile ? { levelsFile } : {}),
  });

beforeAll(async () => {
  ch = await createTestDatabase('levels_shared');
  // A levels.json kept by a collector from before rules lived in ClickHouse.
  legacyFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'distlog-levels-')), 'levels.json');
  writeFileSync(
    legacyFile,
    JSON.stringify({
      rules: [
        {
          id: 'legacy01',
          service: 'old',
          logger: 'db',
          level: 'debug',
          setBy: 'ops',
          setAt: '2026-01-01T00:00:00.000Z',
        },
        {
          id: 'legacy02',
          service: 'old',
          logger: 'gone',
          level: 'debug',
          setBy: 'ops',
          setAt: '2026-01-01T00:00:00.000Z',
          expiresAt: '2026-01-02T00:00:00.000Z',
        },
      ],
    }),
  );
  a = await start(legacyFile);
  b = await start();
});

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await dropTestDatabase(ch);
});

const api = (c: RunningCollector) => `http://127.0.0.1:${c.httpPort}/v1/levels`;

interface Listing {
  rules: Array<{ id: string; service: string; logger: string; level: string }>;
  instances: Array<{
    service: string;
    instance: string;
    connected: boolean;
    collector?: string;
    loggers: Record<string, { level: string }>;
  }>;
}
const listing = async (c: RunningCollector) => (await (await fetch(api(c))).json()) as Listing;

/** A process subscribed through `c` (the SSE stream the SDK uses over HTTP): the rule sets it received. */
function subscribe(c: RunningCollector, service: string, instance: string) {
  const received: Array<Array<{ logger: string; level: string }>> = [];
  const controller = new AbortController();
  void (async () => {
    const res = await fetch(`${api(c)}/stream?service=${service}&instance=${instance}`, {
      signal: controller.signal,
    });
    const decoder = new TextDecoder();
    let text = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      text += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = text.indexOf('\n\n')) >= 0) {
        const event = text.slice(0, end);
        text = text.slice(end + 2);
        const data = /^data: (.*)$/m.exec(event)?.[1];
        if (data)
          received.push((JSON.parse(data) as { rules: Array<{ logger: string; level: string }> }).rules);
      }
    }
  })().catch(() => undefined);
  return { received, close: () => controller.abort() };
}

describe('level rules in ClickHouse, shared by every collector', () => {
  it('moves the rules of a levels.json in once, then no longer reads the file', async () => {
    expect(existsSync(legacyFile)).toBe(false);
    expect(existsSync(`${legacyFile}.migrated`)).toBe(true);
    // The expired one is not brought back; both collectors list the other.
    expect((await listing(a)).rules.map((r) => r.id)).toEqual(['legacy01']);
    expect((await listing(b)).rules.map((r) => r.id)).toEqual(['legacy01']);
  });

  it('a rule set through one collector reaches a process connected to the other within a second or so', async () => {
    const process = subscribe(b, 'shop', 'p1');
    try {
      await eventually(async () => process.received.length > 0);
      const res = await fetch(api(a), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ service: 'shop', logger: 'cart', level: 'debug', for: '10m', setBy: 'test' }),
      });
      expect(res.status).toBe(201);
      const pushed = await eventually(
        async () =>
          process.received.some((rules) => rules.some((r) => r.logger === 'cart' && r.level === 'debug')),
        3_000,
        50,
      );
      expect(pushed).toBe(true);
      // Cleared through b: a and b both say so.
      const cleared = await fetch(`${api(b)}?service=shop&logger=cart&by=test`, { method: 'DELETE' });
      expect(((await cleared.json()) as { removed: unknown[] }).removed).toHaveLength(1);
      expect(
        await eventually(async () => !(await listing(a)).rules.some((r) => r.logger === 'cart'), 3_000),
      ).toBe(true);
    } finally {
      process.close();
    }
  });

  it('`level list` on either collector shows the processes connected to both, with their loggers', async () => {
    const p1 = subscribe(a, 'shop', 'on-a');
    const p2 = subscribe(b, 'shop', 'on-b');
    try {
      await eventually(async () => p1.received.length > 0 && p2.received.length > 0);
      const report = await fetch(`${api(b)}/report`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ service: 'shop', instance: 'on-b', loggers: { cart: { level: 'info' } } }),
      });
      expect(report.status).toBe(204);
      for (const c of [a, b]) {
        const both = await eventually(async () => {
          const mine = (await listing(c)).instances.filter((i) => i.service === 'shop');
          const onB = mine.find((i) => i.instance === 'on-b');
          return mine.some((i) => i.instance === 'on-a') && onB?.loggers.cart ? mine : undefined;
        }, 5_000);
        expect(both?.find((i) => i.instance === 'on-b')).toMatchObject({
          connected: true,
          loggers: { cart: { level: 'info' } },
          collector: b.levels.collectorId,
        });
        expect(both?.find((i) => i.instance === 'on-a')?.collector).toBe(a.levels.collectorId);
      }
    } finally {
      p1.close();
      p2.close();
    }
    // Gone from the list on both once they disconnect.
    for (const c of [a, b])
      expect(
        await eventually(
          async () => !(await listing(c)).instances.some((i) => i.service === 'shop' && i.connected),
          5_000,
        ),
      ).toBe(true);
  });

  it('an expiry is recorded once, however many collectors see it', async () => {
    const res = await fetch(api(b), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ service: 'shop', logger: 'brief', level: 'trace', for: '2s', setBy: 'test' }),
    });
    const { rule } = (await res.json()) as { rule: { id: string } };
    const changes = async () =>
      ch.query<{ Change: string; Collector: string }>(
        `SELECT Change, Collector FROM ${ch.database}.level_rule_changes WHERE RuleId = '${rule.id}' ORDER BY Version`,
      );
    expect(await eventually(async () => (await changes()).length === 2, 8_000)).toBe(true);
    // b set it, so b records the expiry; a looks 2 s later (plus up to 1 s of jitter) and
    // must find it recorded: give a that long to (not) write its own.
    await new Promise((r) => setTimeout(r, 3_500));
    expect((await changes()).map((c) => [c.Change, c.Collector])).toEqual([
      ['set', b.levels.collectorId],
      ['expired', b.levels.collectorId],
    ]);
    const audit = await eventually(async () => {
      const rows = await ch.query<{ n: string }>(
        `SELECT count() AS n FROM ${ch.database}.all_logs WHERE EventName = 'distlog.level.expired' ` +
          `AND has(LogAttributes.value, '${rule.id}')`,
      );
      return Number(rows[0].n) > 0 ? Number(rows[0].n) : undefined;
    });
    expect(audit).toBe(1);
    expect((await listing(a)).rules.some((r) => r.id === rule.id)).toBe(false);
  });
});
