import { spawn } from 'node:child_process';
import net from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ClickHouse } from '@distlog/collector/storage';
import { createTestDatabase, dropTestDatabase, testClickHouseUrl } from '@distlog/collector/testing';
import { freePort } from '@distlog/collector/storage';

// The commands exactly as the README prints them: `npx distlog <verb>`, run from the
// checkout's root, where `npm run setup` installed everything.
const ROOT = path.resolve(__dirname, '../../..');
// In a process group of its own, as a terminal runs a command: Ctrl-C (interrupt()) goes
// to the whole group — npx, the shell it starts and distlog — as it does in a terminal.
const npx = (args: string[], env: Record<string, string | undefined>) =>
  spawn('npx', ['distlog', ...args], { cwd: ROOT, env: { ...process.env, ...env }, detached: true });
const interrupt = (child: { pid?: number }) => process.kill(-child.pid!, 'SIGINT');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = npx(args, env);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts `distlog up`, waits for its banner, sends one OTLP/JSON record, stops it with SIGINT. */
async function upSendStop(
  args: string[],
  env: Record<string, string | undefined>,
  body: string,
): Promise<Run & { banner: string }> {
  const child = npx(['up', ...args], env);
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  // 'close': every process of the group that held its output has ended (distlog too, not only npx).
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code, signal) => resolve(signal === 'SIGINT' ? 0 : code)),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`distlog up did not start:\n${stderr}`)), 60_000);
    child.stdout.on('data', (c) => {
      stdout += c;
      if (stdout.includes('Press Ctrl-C to stop.')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const httpPort = /OTLP HTTP +http:\/\/127\.0\.0\.1:(\d+)/.exec(stdout)![1];
  const res = await fetch(`http://127.0.0.1:${httpPort}/v1/logs`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'cli-test' } }] },
          scopeLogs: [{ logRecords: [{ body: { stringValue: body } }] }],
        },
      ],
    }),
  });
  expect(res.status).toBe(200);
  interrupt(child);
  // Interrupted like a terminal's Ctrl-C: npx ends by the signal, distlog by stopping cleanly.
  return { code: await exited, stdout, stderr, banner: stdout };
}

describe('distlog command line', () => {
  let ch: ClickHouse;
  beforeAll(async () => {
    ch = await createTestDatabase('cli');
  });
  afterAll(async () => {
    await dropTestDatabase(ch);
  });

  it('lists its commands, and refuses unknown ones and bad flags with exit code 2', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^ {2}up +start \(or connect to\) ClickHouse/m);
    // The version, as the package says, and `help COMMAND` as `COMMAND --help`.
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'query-ui/package.json'), 'utf8'));
    for (const flag of ['--version', '-V']) {
      const v = await run([flag]);
      expect(v.code).toBe(0);
      expect(v.stdout).toBe(`distlog ${version} (Node ${process.version})\n`);
    }
    const helpTree = await run(['help', 'tree']);
    expect(helpTree.code).toBe(0);
    expect(helpTree.stdout).toContain('usage: distlog tree TRACE_ID');
    const unknown = await run(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('distlog: unknown command "frobnicate"');
    const badPort = await run(['up', '--grpc-port', 'abc']);
    expect(badPort.code).toBe(2);
    expect(badPort.stderr).toContain(
      '--grpc-port / DISTLOG_GRPC_PORT: expected a port number 0-65535, got "abc"',
    );
    // A proxy path that is not a plain path stops the start before anything runs.
    const badBase = await run(['up'], { DISTLOG_UI_BASE_PATH: 'distlog/"x' });
    expect(badBase.code).not.toBe(0);
    expect(badBase.stderr).toContain(
      'DISTLOG_UI_BASE_PATH="distlog/\\"x" is not a plain path such as /distlog',
    );
    expect(badBase.stderr).not.toMatch(/starting/);
  });

  it('`schema apply` creates the tables once and reports nothing to do the second time', async () => {
    const env = { CLICKHOUSE_URL: testClickHouseUrl(), DISTLOG_DATABASE: `${ch.database}_schema` };
    const first = await run(['schema', 'apply'], env);
    expect(first.code).toBe(0);
    expect(first.stderr).toContain(`applied 0001_tier_table to logs`);
    const second = await run(['schema', 'apply'], env);
    expect(second.stderr).toContain('schema is up to date');
    // A tier table dropped by hand: status says so (exit 1), apply makes it again.
    await ch.command(`DROP TABLE ${ch.database}_schema.debug`);
    const status = await run(['schema', 'status'], env);
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(/^debug +\S+\.debug +3 d +MISSING /m);
    expect(status.stderr).toContain(
      `${ch.database}_schema.debug missing (dropped?): \`distlog schema apply\` makes it again`,
    );
    const third = await run(['schema', 'apply'], env);
    expect(third.stderr).toContain('applied 0001_tier_table to debug');
    expect(third.stderr).not.toContain('to logs');
    expect((await run(['schema', 'status'], env)).code).toBe(0);
    // A column the collector writes, dropped by hand: named, with what to do (exit 1).
    const [{ type }] = await ch.query<{ type: string }>(
      `SELECT type FROM system.columns WHERE database = '${ch.database}_schema' AND table = 'logs' AND name = 'ScopeVersion'`,
    );
    await ch.command(`ALTER TABLE ${ch.database}_schema.logs DROP COLUMN ScopeVersion`);
    const changed = await run(['schema', 'status'], env);
    expect(changed.code).toBe(1);
    expect(changed.stdout).toMatch(/^logs +\S+\.logs +30 d +\d+ CHANGED /m);
    expect(changed.stderr).toContain(
      `${ch.database}_schema.logs lacks columns the collector writes: ScopeVersion (dropped or renamed by hand?)`,
    );
    await ch.command(
      `ALTER TABLE ${ch.database}_schema.logs ADD COLUMN ScopeVersion ${type} AFTER ScopeName`,
    );
    expect((await run(['schema', 'status'], env)).code).toBe(0);
    await ch.command(`DROP DATABASE ${ch.database}_schema`);
  });

  it('`up` against CLICKHOUSE_URL prints its endpoints, stores records, stops on Ctrl-C', async () => {
    const body = `up-external-${Date.now()}`;
    const result = await upSendStop(
      ['--grpc-port', '0', '--http-port', '0'],
      {
        CLICKHOUSE_URL: testClickHouseUrl(),
        DISTLOG_DATABASE: ch.database,
        DISTLOG_HOME: mkdtempSync(path.join(os.tmpdir(), 'distlog-up-ext-')),
        DISTLOG_UI_PORT: '0',
        DISTLOG_UI_BASE_PATH: '/ops/distlog/',
      },
      body,
    );
    expect(result.code).toBe(0);
    expect(result.banner).toContain('Proxy path   /ops/distlog/ (DISTLOG_UI_BASE_PATH)');
    expect(result.banner).toContain(`ClickHouse   ${testClickHouseUrl()} (database ${ch.database})`);
    // Open by default on loopback, and it says so.
    expect(result.banner).toContain('Sending      OPEN: anyone who can reach 127.0.0.1 may send');
    expect(result.banner).toContain(
      'Reading      OPEN: anyone who can reach 127.0.0.1 may search, run SQL and change levels',
    );
    expect(result.banner).toContain('TLS          off');
    expect(result.stderr).toContain('stopped.');
    const rows = await ch.query<{ ServiceName: string }>(
      `SELECT ServiceName FROM ${ch.database}.all_logs WHERE Body = '${body}'`,
    );
    expect(rows).toEqual([{ ServiceName: 'cli-test' }]);
  });

  it('`up --store server` runs a private clickhouse-server under DISTLOG_HOME and stops it', async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'distlog-up-'));
    const chPort = await freePort();
    try {
      const result = await upSendStop(
        ['--store', 'server', '--grpc-port', '0', '--http-port', '0'],
        {
          CLICKHOUSE_URL: undefined,
          DISTLOG_HOME: home,
          DISTLOG_UI_PORT: '0',
          DISTLOG_CLICKHOUSE_HTTP_PORT: String(chPort),
          DISTLOG_CLICKHOUSE_TCP_PORT: String(await freePort()),
        },
        'private-server-record',
      );
      expect(result.code).toBe(0);
      expect(result.banner).toContain(
        `ClickHouse   http://127.0.0.1:${chPort} (database distlog, private server)`,
      );
      expect(result.banner).toContain(`Data         ${home}`);
      // Ctrl-C reached the whole group, the server too, but it went last: the collector
      // still wrote into it as it stopped (it used to find it gone).
      expect(result.stderr).not.toContain('cannot register');
      expect(result.stderr).not.toContain('spooling');
      // The private server is gone after Ctrl-C.
      await expect(fetch(`http://127.0.0.1:${chPort}/ping`)).rejects.toThrow();
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('`up` whose ports are taken (another one running) says which and what moves each, and starts nothing', async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'distlog-up-taken-'));
    // Another server on the private ClickHouse's HTTP port (it answers /ping as ClickHouse
    // does: before the check, `up --store server` took it for the server it had started)
    // and on the UI's port.
    const other = net.createServer((socket) =>
      socket.end('HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\nOk.\n'),
    );
    const [chPort, uiPort, grpcPort] = [await freePort(), await freePort(), await freePort()];
    const ui = net.createServer();
    await Promise.all(
      [other.listen(chPort, '127.0.0.1'), ui.listen(uiPort, '127.0.0.1')].map(
        (s) => new Promise((r) => s.once('listening', r)),
      ),
    );
    try {
      for (const store of ['server', 'embedded']) {
        const result = await run(
          [
            'up',
            '--store',
            store,
            '--grpc-port',
            String(grpcPort),
            '--http-port',
            '0',
            '--ui-port',
            String(uiPort),
          ],
          {
            CLICKHOUSE_URL: undefined,
            DISTLOG_HOME: home,
            DISTLOG_CLICKHOUSE_HTTP_PORT: String(chPort),
            DISTLOG_CLICKHOUSE_TCP_PORT: String(await freePort()),
          },
        );
        expect(result.code).toBe(1);
        expect(result.stderr).toContain(`127.0.0.1:${chPort} (`);
        expect(result.stderr).toContain('another port: DISTLOG_CLICKHOUSE_HTTP_PORT');
        expect(result.stderr).toContain(
          `127.0.0.1:${uiPort} (web UI and API) is already in use; another port: --ui-port`,
        );
        // Nothing started: no store, no receiver.
        expect(result.stderr).not.toMatch(/starting/);
        await expect(fetch(`http://127.0.0.1:${grpcPort}/`)).rejects.toThrow();
      }
    } finally {
      other.close();
      ui.close();
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('`up` with no ClickHouse named runs on the embedded store (current ClickHouse through chDB) and stops it', async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'distlog-up-embedded-'));
    const storePort = await freePort();
    try {
      const result = await upSendStop(
        ['--grpc-port', '0', '--http-port', '0'],
        {
          CLICKHOUSE_URL: undefined,
          DISTLOG_HOME: home,
          DISTLOG_UI_PORT: '0',
          DISTLOG_CLICKHOUSE_HTTP_PORT: String(storePort),
        },
        'embedded-store-record',
      );
      expect(result.code).toBe(0);
      expect(result.banner).toMatch(
        new RegExp(
          `ClickHouse   http://127\\.0\\.0\\.1:${storePort} \\(database distlog, embedded store, ClickHouse 2\\d\\.`,
        ),
      );
      expect(result.stderr).toContain('stopped.');
      expect(result.stderr).not.toContain('cannot register');
      expect(result.stderr).not.toContain('spooling');
      await expect(fetch(`http://127.0.0.1:${storePort}/ping`)).rejects.toThrow();
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
