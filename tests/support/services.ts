import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ClickHouse } from '@distlog/collector/storage';
import { eventually } from '@distlog/collector/testing';

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

/**
 * startService() for one test file: its services send to the file's collector over gRPC
 * (unless `env` says otherwise) and are stopped after its tests.
 */
export function serviceStarter(grpcPort: () => number) {
  afterAll(stopServices);
  return (file: string, source: string, env: Record<string, string>, nodeArgs: string[]) =>
    startService(
      file,
      source,
      { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${grpcPort()}`, ...env },
      nodeArgs,
    );
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

/** A record's attribute as a column (empty when the record has none). */
export const attr = (key: string) => `LogAttributes.value[indexOf(LogAttributes.key, '${key}')]`;

/** What every scope record of a trace has, as scopeRecords() reads it. */
export interface ScopeRecord {
  service: string;
  event: string;
  spanId: string;
  name: string;
  parent: string;
  status: string;
}

/**
 * A trace's scope records (`eventPattern`: start and end, or one of them) in time order, once
 * at least `expected` arrived, with `attributes` (column alias → attribute key) beside the usual ones.
 */
export async function scopeRecords<Extra extends Record<string, string>>(
  ch: ClickHouse,
  traceId: string,
  expected: number,
  attributes: { [K in keyof Extra]: string },
  eventPattern = 'distlog.scope.%',
): Promise<Array<ScopeRecord & Extra>> {
  const extra = Object.entries(attributes).map(([alias, key]) => `, ${attr(key)} AS ${alias}`);
  const found = await eventually(async () => {
    const rows = await ch.query<ScopeRecord & Extra>(
      `SELECT ServiceName AS service, EventName AS event, SpanId AS spanId,
              ${attr('scope.name')} AS name, ${attr('scope.parent_span_id')} AS parent,
              ${attr('scope.status')} AS status${extra.join('')}
       FROM ${ch.database}.all_logs
       WHERE TraceId = '${traceId}' AND EventName LIKE '${eventPattern}' ORDER BY TimeUnixNano`,
    );
    return rows.length >= expected ? rows : undefined;
  });
  return found!;
}
