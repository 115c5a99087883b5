import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

/** Where fixture apps written by a test go (next to the built fixtures, so they resolve the workspace's packages). */
export const FIXTURES = path.resolve(__dirname, '../dist/fixtures');

const running: ChildProcess[] = [];

/**
 * Writes an app's source into the fixtures folder and starts it with `node [nodeArgs] file`;
 * resolves once it printed `listening <port>`. `OTEL_EXPORTER_OTLP_ENDPOINT` and the rest of
 * the environment come from `env` over the test's own. Stopped by stopServices().
 */
export async function startService(
  file: string,
  source: string,
  env: Record<string, string>,
  nodeArgs: string[],
): Promise<{ port: number; child: ChildProcess; stderr: () => string }> {
  writeFileSync(path.join(FIXTURES, file), source);
  const child = spawn(process.execPath, [...nodeArgs, path.join(FIXTURES, file)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let stderr = '';
  child.stderr!.on('data', (c) => (stderr += c));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c) => {
      out += c;
      const match = /listening (\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code}:\n${stderr}`)));
  });
  return { port, child, stderr: () => stderr };
}

/** Stops every service startService() started (SIGTERM) and waits for them to exit. */
export async function stopServices(): Promise<void> {
  const children = running.splice(0);
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
}
