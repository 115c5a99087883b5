import type { ClickHouse } from '@distlog/collector/storage';

/**
 * Lists a collector in the `collectors` table as a running one would (collector-registry.ts),
 * at an address where nothing answers — one killed without saying so — or, with `alive`
 * false, says it stopped (then it is listed no more). Returns a function that does the latter.
 */
export async function listGhostCollector(
  ch: ClickHouse,
  name: string,
  url = 'http://127.0.0.1:1',
): Promise<() => Promise<void>> {
  const register = (alive: 0 | 1) =>
    ch.command(
      `INSERT INTO ${ch.database}.collectors (Collector, TailUrl, Alive, SeenAt, Version) ` +
        `VALUES ('${name}', '${url}', ${alive}, now(), ${Date.now()})`,
    );
  await register(1);
  return () => register(0);
}
