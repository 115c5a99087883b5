import { ClickHouse } from '../storage/clickhouse';
import { freePort } from '../storage/local-clickhouse';
import { kindOf } from '../errors';
import type { LevelRule } from './level-rules';
import { LevelRuleError } from './level-rules';
import { LevelStore, LevelStoreUnavailableError } from './level-store';

// The level store while ClickHouse is down (a closed port): it starts anyway and keeps
// what processes have, refuses changes as retryable, and shuts down cleanly. With
// ClickHouse up, several collectors agreeing: level-store.int.test.ts.
let ch: ClickHouse;
beforeAll(async () => {
  ch = ClickHouse.withKnownVersion(
    { url: `http://127.0.0.1:${await freePort()}`, database: 'distlog', requestTimeoutMs: 1_000 },
    '18.16.1',
  );
});
afterAll(() => ch.close());

describe('LevelStore with ClickHouse down', () => {
  it('starts, lists no rules, and answers a subscriber at once', async () => {
    const store = await LevelStore.open({ ch, collectorId: 'c1', pollMs: 60_000, heartbeatMs: 60_000 });
    try {
      expect(store.list()).toEqual([]);
      const pushed: LevelRule[][] = [];
      let ended = 0;
      const unsubscribe = store.subscribe(
        'orders',
        'orders-1',
        (rules) => pushed.push(rules),
        () => ended++,
      );
      expect(pushed).toEqual([[]]);
      unsubscribe();
      unsubscribe();
      expect(ended).toBe(0); // unsubscribing is the process leaving; end() is the store closing
    } finally {
      await store.shutdown();
    }
  });

  it('refuses a change as retryable, naming ClickHouse, and a bad rule before trying', async () => {
    const store = await LevelStore.open({ ch, collectorId: 'c2', pollMs: 60_000, heartbeatMs: 60_000 });
    try {
      const failure = await store
        .set({ service: 'orders', logger: 'db.*', level: 'debug', for: '15m', setBy: 'test' })
        .catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(LevelStoreUnavailableError);
      expect(kindOf(failure)).toBe('unavailable');
      expect(String(failure)).toMatch(/ClickHouse did not answer/);
      expect(store.list()).toEqual([]);
      await expect(
        store.set({ service: 'orders', logger: 'db', level: 'loud' as never }),
      ).rejects.toBeInstanceOf(LevelRuleError);
    } finally {
      await store.shutdown();
    }
  });

  it('shutdown() ends every subscription once, and is safe twice; start() after it does nothing', async () => {
    const store = await LevelStore.open({ ch, collectorId: 'c3', pollMs: 60_000, heartbeatMs: 60_000 });
    let ended = 0;
    store.subscribe(
      'orders',
      'orders-1',
      () => undefined,
      () => ended++,
    );
    store.subscribe(
      'payments',
      'payments-1',
      () => undefined,
      () => ended++,
    );
    await store.shutdown();
    await store.shutdown();
    expect(ended).toBe(2);
    const never = await LevelStore.open({ ch, pollMs: 60_000 }).then(async (s) => {
      await s.shutdown();
      return s;
    });
    await never.start(); // after shutdown, start() does not bring it back
    expect(never.list()).toEqual([]);
  });
});
