import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { stopProcess } from '../stop-process';

export interface LocalChdbOptions {
  /** The store's folder (its data, staging area and pid file). */
  dir: string;
  /** HTTP port on 127.0.0.1; 0 or absent: a free one. */
  httpPort?: number;
  startTimeoutMs?: number;
}

/**
 * The embedded store (chDB, current ClickHouse as a library) in its own process,
 * reached like any ClickHouse server at `url`: the default storage of `distlog up`
 * and the second target of the test suite. Same shape as LocalClickHouse.
 */
export class LocalChdb {
  private constructor(
    private readonly child: ChildProcess,
    readonly dir: string,
    readonly url: string,
    readonly version: string,
  ) {}

  get pid(): number | undefined {
    return this.child.pid;
  }

  static async start(options: LocalChdbOptions): Promise<LocalChdb> {
    const dir = path.resolve(options.dir);
    mkdirSync(dir, { recursive: true });
    const child = spawn(
      process.execPath,
      [path.join(__dirname, 'chdb-main.js'), '--dir', dir, '--port', String(options.httpPort ?? 0)],
      // stdin: the store's tie to this process (it stops when this end closes).
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const started = await new Promise<{ url: string; version: string }>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the embedded store did not start within the timeout:\n${stderr}`));
      }, options.startTimeoutMs ?? 60_000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the embedded store exited with ${code}: ${stderr.trim()}`));
      });
      readline.createInterface({ input: child.stdout! }).on('line', (line) => {
        try {
          const msg = JSON.parse(line) as { event?: string; url: string; version: string };
          if (msg.event !== 'listening') return;
          clearTimeout(timer);
          resolve(msg);
        } catch {
          // not ours
        }
      });
    });
    child.removeAllListeners('exit');
    return new LocalChdb(child, dir, started.url, started.version);
  }

  /** Stops the store (SIGTERM, then SIGKILL after 20 s). Safe to call twice. */
  stop(): Promise<void> {
    return stopProcess(this.child);
  }
}
