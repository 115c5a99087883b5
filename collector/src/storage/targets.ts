import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalChdb } from './embedded/local-chdb';
import { LocalClickHouse } from './local-clickhouse';

/**
 * For benchmarks that compare the ClickHouse lines in one run: calls `fn` with each
 * target's URL and label — a private clickhouse-server (`server`) and the embedded store
 * (`embedded`), as BENCH_TARGETS lists them (default both) — or only with CLICKHOUSE_URL
 * when that names a server. Each private one is started before and removed after.
 */
export async function forEachClickHouseTarget(
  /** `serverPid`: the private server's process (none for CLICKHOUSE_URL), e.g. to read its CPU time. */
  fn: (url: string, label: string, serverPid?: number) => Promise<void>,
  env = process.env,
): Promise<void> {
  if (env.CLICKHOUSE_URL) return fn(env.CLICKHOUSE_URL, `server at ${env.CLICKHOUSE_URL}`);
  for (const target of (env.BENCH_TARGETS ?? 'server,embedded').split(',').map((t) => t.trim())) {
    if (target !== 'server' && target !== 'embedded')
      throw new Error(`BENCH_TARGETS: ${JSON.stringify(target)} is not server or embedded`);
    // BENCH_DATA_DIR keeps each target's data between runs (e.g. 100 M generated rows).
    const kept = env.BENCH_DATA_DIR ? path.resolve(env.BENCH_DATA_DIR, target) : undefined;
    const tmp = kept ?? mkdtempSync(path.join(os.tmpdir(), 'distlog-bench-target-'));
    const local =
      target === 'embedded'
        ? await LocalChdb.start({ dir: path.join(tmp, 'store') })
        : await LocalClickHouse.start({ dir: path.join(tmp, 'clickhouse') });
    try {
      await fn(
        local.url,
        local instanceof LocalChdb ? `embedded store ${local.version}` : 'server',
        local.pid,
      );
    } finally {
      await local.stop();
      if (!kept) rmSync(tmp, { recursive: true, force: true });
    }
  }
}
