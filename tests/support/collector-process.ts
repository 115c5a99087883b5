import type { ChildProcess } from 'node:child_process';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { ClickHouse } from '@distlog/collector/storage';
import { createTestDatabase, dropTestDatabase, testClickHouseUrl } from '@distlog/collector/testing';
import { temporaryDir } from './temp-dir';

/**
 * The repository's root (the workspace that `npm run setup` installs): the nearest folder
 * above this file whose package.json declares workspaces — from the sources (ts-jest) and
 * from the built dist/ (the soak) alike.
 */
export const REPO_ROOT = ((): string => {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && 'workspaces' in JSON.parse(readFileSync(manifest, 'utf8'))) return dir;
  }
  throw new Error(`no workspace root above ${__dirname}`);
})();

/**
 * The `distlog` command exactly as `npx distlog` runs it: the link npm made in the root's
 * `node_modules/.bin` (spawned directly rather than through npx so that signals, SIGKILL
 * included, reach the process itself). When npm did not link it, every test that starts
 * a collector fails here, naming the cause.
 */
export const DISTLOG_BIN = path.join(REPO_ROOT, 'node_modules/.bin/distlog');
if (!existsSync(DISTLOG_BIN))
  throw new Error(`${DISTLOG_BIN} does not exist: npm did not link the distlog command (run npm run setup)`);

export interface CollectorProcess {
  child: ChildProcess;
  grpcPort: number;
  httpPort: number;
  /** Its DISTLOG_HOME (the spool lives in `spool/` there). */
  home: string;
  /** Everything the process wrote on stderr so far. */
  stderr(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface CollectorProcessOptions {
  /** Reuse a home (e.g. to restart over the same spool); default a new temporary folder. */
  home?: string;
  grpcPort?: number;
  httpPort?: number;
  /** `--config FILE`. */
  config?: string;
  env?: Record<string, string>;
}

/** Starts `distlog collector` as a real child process (free ports unless given), with its own DISTLOG_HOME. */
export async function startCollectorProcess(
  clickhouseUrl: string,
  database: string,
  options: CollectorProcessOptions = {},
): Promise<CollectorProcess> {
  const home = options.home ?? temporaryDir('distlog-collector-');
  const args = [
    DISTLOG_BIN,
    'collector',
    '--clickhouse-url',
    clickhouseUrl,
    '--database',
    database,
    '--home',
    home,
    '--grpc-port',
    String(options.grpcPort ?? 0),
    '--http-port',
    String(options.httpPort ?? 0),
    ...(options.config ? ['--config', options.config] : []),
  ];
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const lines = readline.createInterface({ input: child.stdout! });
  const ports = await new Promise<{ grpcPort: number; httpPort: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`collector did not start in 20 s:\n${stderr}`)), 20_000);
    child.once('exit', (code) => reject(new Error(`collector exited with ${code}:\n${stderr}`)));
    lines.on('line', (line) => {
      try {
        const msg = JSON.parse(line);
        if (msg.event === 'listening') {
          clearTimeout(timer);
          resolve(msg);
        }
      } catch {
        // not ours
      }
    });
  });
  return {
    child,
    ...ports,
    home,
    stderr: () => stderr,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      await exited;
    },
  };
}

/**
 * The environment for an `npm` the tests run as a user would: without the npm_* variables
 * (npm_config_local_prefix above all) that `npm test` passes down, which would make that
 * npm act on this repository's workspace instead of the folder it runs in.
 */
export function userNpmEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'INIT_CWD'),
  );
}

/** Sets a level rule through the collector's HTTP API (POST /v1/levels) and checks it was taken. */
export async function setLevelRule(
  collector: CollectorProcess,
  rule: { service: string; logger: string; level: string; for?: string },
): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${collector.httpPort}/v1/levels`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ ...rule, setBy: 'test' }),
  });
  if (response.status !== 201)
    throw new Error(`level rule refused: ${response.status} ${await response.text()}`);
}

/** Runs a built fixture script (or a script at an absolute path) to completion; resolves with its stdout's JSON lines, parsed. */
export async function runFixture(
  script: string,
  env: Record<string, string>,
  nodeArgs: string[] = [],
): Promise<Array<Record<string, string>>> {
  return (await runFixtureOutput(script, env, nodeArgs)).lines;
}

/** Runs a script to its end, whatever its exit code: the code and everything it printed. */
export async function runToEnd(
  file: string,
  env: Record<string, string>,
  nodeArgs: string[] = [],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [...nodeArgs, file], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c) => (stdout += c));
  child.stderr!.on('data', (c) => (stderr += c));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, stdout, stderr };
}

/** The same, with what the fixture wrote to stderr. */
export async function runFixtureOutput(
  script: string,
  env: Record<string, string>,
  nodeArgs: string[] = [],
): Promise<{ lines: Array<Record<string, string>>; stderr: string }> {
  const file = path.isAbsolute(script) ? script : path.resolve(__dirname, '../dist/fixtures', script);
  const { code, stdout, stderr } = await runToEnd(file, env, nodeArgs);
  if (code !== 0) throw new Error(`${script} exited with ${code}:\n${stderr}`);
  const lines = stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));
  return { lines, stderr };
}

/** A fresh test database with a collector process writing into it (each test file's usual start). */
export async function collectorWithDatabase(
  prefix: string,
  options: CollectorProcessOptions = {},
): Promise<{ ch: ClickHouse; collector: CollectorProcess }> {
  const ch = await createTestDatabase(prefix);
  const collector = await startCollectorProcess(testClickHouseUrl(), ch.database, options);
  return { ch, collector };
}

/** A config file with the shipped routing and metrics whose rollups are written every half second (tests read them at once). */
export function fastMetricsConfig(): string {
  const dir = temporaryDir('distlog-config-');
  const file = path.join(dir, 'collector.yaml');
  writeFileSync(file, 'metricOptions: { flushInterval: 500ms }\n');
  return file;
}

/**
 * A test file's usual frame: registers beforeAll/afterAll that make a fresh database with
 * a collector process and remove them; the returned object holds both once started.
 */
export function collectorForFile(prefix: string): { ch: ClickHouse; collector: CollectorProcess } {
  const started = {} as { ch: ClickHouse; collector: CollectorProcess };
  beforeAll(async () => {
    Object.assign(started, await collectorWithDatabase(prefix));
  });
  afterAll(() => stopCollectorAndDatabase(started.collector, started.ch));
  return started;
}

/** The matching end: stop the collector (if it started), drop the database. */
export async function stopCollectorAndDatabase(
  collector: CollectorProcess | undefined,
  ch: ClickHouse | undefined,
): Promise<void> {
  await collector?.stop();
  if (ch) await dropTestDatabase(ch);
}

const execFileAsync = promisify(execFile);

/** `distlog schema apply --clickhouse-url URL --database NAME [extra…]` as a real process (stdout, stderr). */
export function distlogSchemaApply(
  url: string,
  database: string,
  ...extra: string[]
): Promise<{ stdout: string; stderr: string }> {
  return execFileAsync(process.execPath, [
    DISTLOG_BIN,
    'schema',
    'apply',
    '--clickhouse-url',
    url,
    '--database',
    database,
    ...extra,
  ]);
}
