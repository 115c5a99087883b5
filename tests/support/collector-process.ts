import { spawn, ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';

/** The `distlog` command line as built by the query-ui package. */
export const DISTLOG_BIN = path.resolve(__dirname, '../../query-ui/dist/cli/main.js');

export interface CollectorProcess {
  child: ChildProcess;
  grpcPort: number;
  httpPort: number;
  /** Everything the process wrote on stderr so far. */
  stderr(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `distlog collector` as a real child process on free ports. */
export async function startCollectorProcess(
  clickhouseUrl: string,
  database: string,
  extraArgs: string[] = [],
): Promise<CollectorProcess> {
  const child = spawn(
    process.execPath,
    [
      DISTLOG_BIN,
      'collector',
      '--clickhouse-url',
      clickhouseUrl,
      '--database',
      database,
      '--grpc-port',
      '0',
      '--http-port',
      '0',
      ...extraArgs,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
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
    stderr: () => stderr,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      await exited;
    },
  };
}

/** Runs a built fixture script to completion; resolves with its stdout's JSON lines, parsed. */
export async function runFixture(
  script: string,
  env: Record<string, string>,
  nodeArgs: string[] = [],
): Promise<Array<Record<string, string>>> {
  const child = spawn(process.execPath, [...nodeArgs, path.resolve(__dirname, '../dist/fixtures', script)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c) => (stdout += c));
  child.stderr!.on('data', (c) => (stderr += c));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`${script} exited with ${code}:\n${stderr}`);
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));
}
