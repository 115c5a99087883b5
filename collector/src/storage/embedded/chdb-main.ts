// The embedded store's own process: `node chdb-main.js --dir DIR [--host H] [--port P]`.
// chDB (ClickHouse as a library) holds DIR/data; ChdbHttpServer serves it as a ClickHouse
// HTTP endpoint. Prints one JSON line when it listens; SIGTERM/SIGINT stop it cleanly.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { ChdbSession } from './chdb-http';
import { ChdbHttpServer } from './chdb-http';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { dir: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' } },
  });
  if (!values.dir) throw new Error('--dir is required');
  const dir = path.resolve(values.dir);
  const lock = path.join(dir, 'store.pid');
  if (existsSync(lock)) {
    const pid = Number(readFileSync(lock, 'utf8'));
    if (Number.isInteger(pid) && pid > 0 && alive(pid))
      throw new Error(`another process (pid ${pid}) has the embedded store in ${dir} open`);
  }
  let chdb: { Session: new (path: string) => ChdbSession };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only in this process (~550 MB engine)
    chdb = require('chdb');
  } catch (err) {
    throw new Error(
      `the embedded store needs the npm package chdb, an optional dependency that is not installed here (npm install chdb; or use a ClickHouse server: --store server, or CLICKHOUSE_URL): ${(err as Error).message}`,
      { cause: err },
    );
  }
  const session = new chdb.Session(path.join(dir, 'data'));
  // As a ClickHouse server answers over HTTP (clickhouse-local, which chDB is, differs).
  await session.queryAsync('SET output_format_json_quote_64bit_integers = 1');
  writeFileSync(lock, String(process.pid));
  const server = new ChdbHttpServer(session, {
    host: values.host ?? '127.0.0.1',
    port: Number(values.port ?? 0),
    stagingDir: path.join(dir, 'staging'),
  });
  const port = await server.start();
  const [version] = Buffer.from(
    (await session.queryAsync('SELECT version()', { format: 'TabSeparatedRaw' })).bytes(),
  )
    .toString('utf8')
    .split('\n');
  process.stdout.write(
    JSON.stringify({
      event: 'listening',
      url: `http://${values.host ?? '127.0.0.1'}:${port}`,
      version,
      dir,
    }) + '\n',
  );
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await server.shutdown();
    session.close();
    rmSync(lock, { force: true });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  // Ctrl-C in a terminal reaches every process of the group at once: the store would go
  // before the collector that writes into it had stored what it holds. Its parent stops it
  // (SIGTERM) after that; and when the parent is gone (killed), its end of stdin closes.
  process.on('SIGINT', () => undefined);
  process.stdin.on('end', () => void stop());
  process.stdin.on('error', () => void stop());
  process.stdin.resume();
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return pid !== process.pid;
  } catch {
    return false;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`distlog store: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
