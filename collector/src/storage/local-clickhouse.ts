import type { ChildProcess } from 'node:child_process';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, closeSync, writeFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { stopProcess } from './stop-process';

/**
 * A private ClickHouse server owned by Distlog: its config lives in `dir`, it listens
 * on loopback only, and it is stopped by the PID we started. Used by the tests (one
 * server per test run) and by `distlog up` when no CLICKHOUSE_URL is given.
 */
export interface LocalClickHouseOptions {
  /** Folder for config, data and logs; created when missing. */
  dir: string;
  /** HTTP port; 0 or unset picks a free one. */
  httpPort?: number;
  /** Native TCP port; 0 or unset picks a free one. */
  tcpPort?: number;
  /** How long to wait for `/ping` (ms). Default 60 000. */
  startTimeoutMs?: number;
  /** Extra XML placed inside the server config's root element (e.g. remote_servers). */
  extraConfig?: string;
  /**
   * In a process group of its own, so that Ctrl-C in a terminal (which signals the whole
   * foreground group) does not stop it before the collector writing into it has stored
   * what it holds; the owner stops it. One left behind when its owner was killed is
   * stopped at the next start (its pid file).
   */
  ownProcessGroup?: boolean;
}

export class ClickHouseNotInstalledError extends Error {
  constructor() {
    super(
      'clickhouse-server was not found on PATH. Install it first: on Debian/Ubuntu as root ' +
        '`apt-get install -y clickhouse-server clickhouse-client`; elsewhere see https://clickhouse.com/docs/install ' +
        '— or set CLICKHOUSE_URL to use a server you already run.',
    );
    this.name = 'ClickHouseNotInstalledError';
  }
}

export function findClickHouseServer(): string[] | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).concat(['/usr/sbin', '/usr/bin'])) {
    if (dir && existsSync(path.join(dir, 'clickhouse-server'))) return [path.join(dir, 'clickhouse-server')];
  }
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, 'clickhouse'))) return [path.join(dir, 'clickhouse'), 'server'];
  }
  return undefined;
}

/**
 * Installs Debian's clickhouse-server when it is missing and we may (root on a
 * Debian-like system); otherwise throws an error that says what to install.
 */
export function ensureClickHouseInstalled(log: (line: string) => void = console.error): void {
  if (findClickHouseServer()) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || !existsSync('/etc/debian_version')) throw new ClickHouseNotInstalledError();
  log('clickhouse-server is missing; installing Debian packages clickhouse-server and clickhouse-client…');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', 'clickhouse-server', 'clickhouse-client'], {
    stdio: 'inherit',
    env,
  });
  if (!findClickHouseServer()) throw new ClickHouseNotInstalledError();
}

/**
 * A port free on 127.0.0.1 now, for a server to listen on. Taken below the kernel's range of
 * ephemeral ports where that range can be read (Linux): no outgoing connection takes such a
 * port as its own, so a server stopped and started again on the same port finds it free. A
 * port from listen(0) is an ephemeral one, which any client connecting anywhere may hold
 * meanwhile (CI saw a restarted ClickHouse refuse to start: "Address already in use").
 */
export async function freePort(): Promise<number> {
  // From 20 000: above the private ClickHouse's own defaults (18123, 19000).
  const below = ephemeralPortsStart();
  for (let i = 0; below > 21_000 && i < 50; i++) {
    const port = 20_000 + Math.floor(Math.random() * (below - 20_000));
    if (!handedOut.has(port) && (await listenOn(port)) === port) return handOut(port);
  }
  const port = await listenOn(0);
  if (port === undefined) throw new Error('no free port on 127.0.0.1');
  return handOut(port);
}

/**
 * Ports this process handed out lately. A port is free when chosen but used only later (a
 * cluster chooses every server's ports before it starts the first); without this the same
 * random pick could come back meanwhile, for another server's HTTP port, say.
 */
const handedOut = new Set<number>();
function handOut(port: number): number {
  handedOut.add(port);
  if (handedOut.size > 2_000) handedOut.delete(handedOut.values().next().value as number);
  return port;
}

/** The first port the kernel hands out to outgoing connections (0 when it cannot be read). */
function ephemeralPortsStart(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 0;
  } catch {
    return 0;
  }
}

/** Listens on `port` (0: any) at 127.0.0.1 and closes again: the port, or undefined when it is taken. */
function listenOn(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.on('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address() as net.AddressInfo;
      server.close(() => resolve(bound));
    });
  });
}

/** Whether something listens on `host:port` now (a listen there fails with EADDRINUSE). */
export function portInUse(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'EADDRINUSE'));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(false)));
  });
}

/** The server could not listen: a port it was given is taken. */
export class PortTakenError extends Error {}

export class LocalClickHouse {
  private constructor(
    private readonly child: ChildProcess,
    readonly dir: string,
    readonly httpPort: number,
    readonly tcpPort: number,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /**
   * Starts a server and waits for it to answer. When it picked a port itself and the server
   * finds it taken by the time it listens, it tries again with new ones (twice).
   */
  static async start(options: LocalClickHouseOptions): Promise<LocalClickHouse> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await LocalClickHouse.startOnce(options);
      } catch (err) {
        const ownPorts = !options.httpPort || !options.tcpPort;
        if (!(err instanceof PortTakenError) || !ownPorts || attempt >= 3) throw err;
      }
    }
  }

  private static async startOnce(options: LocalClickHouseOptions): Promise<LocalClickHouse> {
    const command = findClickHouseServer();
    if (!command) throw new ClickHouseNotInstalledError();
    const dir = path.resolve(options.dir);
    for (const sub of ['data', 'tmp', 'user_files', 'format_schemas', 'log'])
      mkdirSync(path.join(dir, sub), { recursive: true });
    stopStaleServer(dir);
    // A port given that another server already answers on would pass the /ping below.
    for (const port of [options.httpPort, options.tcpPort]) {
      if (port && (await portInUse('127.0.0.1', port)))
        throw new PortTakenError(
          `127.0.0.1:${port} is already in use: the ClickHouse server cannot listen on it`,
        );
    }
    const httpPort = options.httpPort || (await freePort());
    const tcpPort = options.tcpPort || (await freePort());
    const configFile = path.join(dir, 'config.xml');
    writeFileSync(configFile, serverConfig(dir, httpPort, tcpPort, options.extraConfig ?? ''));
    writeFileSync(path.join(dir, 'users.xml'), USERS_XML);

    const stdout = openSync(path.join(dir, 'log', 'stdout.log'), 'a');
    const child = spawn(command[0], [...command.slice(1), `--config-file=${configFile}`], {
      cwd: dir,
      stdio: ['ignore', stdout, stdout],
      detached: options.ownProcessGroup === true,
    });
    closeSync(stdout);
    writeFileSync(path.join(dir, 'server.pid'), String(child.pid));
    const server = new LocalClickHouse(child, dir, httpPort, tcpPort);
    let exited: string | undefined;
    child.once('exit', (code, signal) => (exited = `exited with ${signal ?? code}`));

    const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
    while (Date.now() < deadline) {
      if (exited) {
        const tail = server.logTail();
        const message = `ClickHouse server ${exited} during start-up; see ${tail}`;
        throw tail.includes('Address already in use') ? new PortTakenError(message) : new Error(message);
      }
      if (await pingOk(server.url)) return server;
      await new Promise((r) => setTimeout(r, 150));
    }
    await server.stop();
    throw new Error(
      `ClickHouse server did not answer ${server.url}/ping within the start timeout; see ${server.logTail()}`,
    );
  }

  /** Stops the server (SIGTERM, then SIGKILL after 20 s). Safe to call twice. */
  async stop(): Promise<void> {
    await stopProcess(this.child);
    rmSync(path.join(this.dir, 'server.pid'), { force: true });
  }

  private logTail(): string {
    const errorLog = path.join(this.dir, 'log', 'error.log');
    const stdoutLog = path.join(this.dir, 'log', 'stdout.log');
    const tail = (file: string) =>
      existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(-5).join('\n') : '';
    return `${errorLog}:\n${tail(errorLog) || tail(stdoutLog)}`;
  }
}

async function pingOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1000) });
    return res.ok && (await res.text()).startsWith('Ok');
  } catch {
    return false;
  }
}

/** A server left running by a crashed parent holds the data folder's lock: stop it first. */
function stopStaleServer(dir: string): void {
  const pidFile = path.join(dir, 'server.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8'));
  rmSync(pidFile, { force: true });
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!cmdline.includes(path.join(dir, 'config.xml'))) return;
    process.kill(pid, 'SIGKILL');
  } catch {
    // Not running any more.
  }
}

function serverConfig(dir: string, httpPort: number, tcpPort: number, extra: string): string {
  const d = (sub: string) => path.join(dir, sub) + '/';
  return `<?xml version="1.0"?>
<!-- Written by Distlog for a private, loopback-only server. Rewritten at every start. -->
<yandex>
  <logger>
    <level>warning</level>
    <log>${d('log')}server.log</log>
    <errorlog>${d('log')}error.log</errorlog>
    <size>10M</size>
    <count>2</count>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <path>${d('data')}</path>
  <tmp_path>${d('tmp')}</tmp_path>
  <user_files_path>${d('user_files')}</user_files_path>
  <format_schema_path>${d('format_schemas')}</format_schema_path>
  <users_config>${path.join(dir, 'users.xml')}</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <max_concurrent_queries>100</max_concurrent_queries>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
  ${extra}
</yandex>
`;
}

const USERS_XML = `<?xml version="1.0"?>
<!-- Written by Distlog: one password-less user, reachable from loopback only. -->
<yandex>
  <profiles>
    <default>
      <max_memory_usage>4000000000</max_memory_usage>
      <load_balancing>random</load_balancing>
    </default>
    <readonly>
      <readonly>1</readonly>
    </readonly>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks>
        <ip>127.0.0.1</ip>
        <ip>::1</ip>
      </networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas>
    <default>
      <interval>
        <duration>3600</duration>
        <queries>0</queries>
        <errors>0</errors>
        <result_rows>0</result_rows>
        <read_rows>0</read_rows>
        <execution_time>0</execution_time>
      </interval>
    </default>
  </quotas>
</yandex>
`;
