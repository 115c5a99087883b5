// The load the benches send: rows like a fleet of services logs, encoded as OTLP
// requests, and the clients that send them (gRPC and HTTP/protobuf) with many in flight.
// Used by the collector bench (./run.ts) and by the scale-out bench (tests/bench).
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import * as grpc from '@grpc/grpc-js';
import { logsServiceDefinition } from '@distlog/proto';
import { encodeLogsRequest } from '../sinks/otlp/encode-request';
import type { LogRow, ResourceInfo, ScopeInfo } from '../model/log-row';

export const PER_REQUEST = 512;
// The command as `npx distlog` runs it (the link npm makes in the root's node_modules/.bin).
const DISTLOG_BIN = path.resolve(__dirname, '../../../node_modules/.bin/distlog');

let nextStart = 0n;

/**
 * ~330-byte rows with 5 attributes, as in the project's storage measurements, dated from `startNanos` (default now), 1 µs apart. Every call's rows are later than
 * the last call's, so two sets of rows never encode to the same request.
 */
export function makeRows(count: number, startNanos = BigInt(Date.now()) * 1_000_000n): LogRow[] {
  if (startNanos < nextStart) startNanos = nextStart;
  nextStart = startNanos + BigInt(count) * 1000n;
  const services = ['gateway', 'orders', 'payments', 'stock'];
  const resources: ResourceInfo[] = services.map((s) => ({
    serviceName: s,
    attributes: {
      keys: ['service.name', 'host.name', 'service.instance.id'],
      values: [s, 'bench-host', `${s}-1`],
    },
    schemaUrl: '',
    droppedAttributesCount: 0,
  }));
  const scope: ScopeInfo = {
    name: 'http',
    version: '1.0.0',
    attributes: { keys: [], values: [] },
    schemaUrl: '',
  };
  const start = startNanos;
  return Array.from({ length: count }, (_, i) => ({
    timeUnixNano: start + BigInt(i) * 1000n,
    observedTimeUnixNano: start + BigInt(i) * 1000n,
    severityNumber: 9,
    severityText: 'INFO',
    body: `request handled: GET /orders/${i % 10_000} -> 200 in ${i % 97} ms`,
    attributes: {
      keys: ['http.method', 'http.route', 'http.status_code', 'user.id', 'duration_ms'],
      values: ['GET', '/orders/:id', '200', `user-${i % 5000}`, String(i % 97)],
    },
    droppedAttributesCount: 0,
    traceFlags: 1,
    traceId: (i % 2 ** 31).toString(16).padStart(32, 'a'),
    spanId: (i % 2 ** 31).toString(16).padStart(16, 'b'),
    eventName: '',
    resource: resources[i % resources.length],
    scope,
  }));
}

export function requests(rows: LogRow[]): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < rows.length; i += PER_REQUEST)
    out.push(encodeLogsRequest(rows.slice(i, i + PER_REQUEST)));
  return out;
}

export interface ProcStats {
  cpuMs: number;
  rssMb: number;
  peakRssMb: number;
}

export function procStats(pid: number): ProcStats {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const ticks = Number(stat[11]) + Number(stat[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { cpuMs: (ticks * 1000) / 100, rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 };
}

export async function startCollector(
  url: string,
  database: string,
  home: string,
): Promise<{ child: ChildProcess; grpcPort: number; httpPort: number }> {
  const child = spawn(
    process.execPath,
    [
      // BENCH_NODE_ARGS: Node options for the collector, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
      ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean),
      DISTLOG_BIN,
      'collector',
      // BENCH_COLLECTOR_CONFIG: a configuration file for the collector (e.g. to try batch settings).
      ...(process.env.BENCH_COLLECTOR_CONFIG ? ['--config', process.env.BENCH_COLLECTOR_CONFIG] : []),
      '--clickhouse-url',
      url,
      '--database',
      database,
      '--home',
      home,
      '--grpc-port',
      '0',
      '--http-port',
      '0',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, DISTLOG_LOG_LEVEL: 'warn' } },
  );
  const ports = await new Promise<{ grpcPort: number; httpPort: number }>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`collector exited with ${code}`)));
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.includes('"listening"')) resolve(JSON.parse(line));
    });
  });
  return { child, ...ports };
}

/** Sends every request with `concurrency` in flight; resolves when all are acknowledged. */
export async function drive(
  bodies: Buffer[],
  send: (body: Buffer) => Promise<void>,
  concurrency: number,
): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) await send(bodies[next++]);
    }),
  );
  return performance.now() - started;
}

export function grpcSender(port: number): { send: (b: Buffer) => Promise<void>; close: () => void } {
  const Client = grpc.makeGenericClientConstructor(logsServiceDefinition(), 'LogsService');
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    'grpc.max_send_message_length': 64 << 20,
  });
  const exportRaw = (
    client as unknown as { Export: (b: Buffer, cb: (e: Error | null) => void) => void }
  ).Export.bind(client);
  return {
    send: (b) => new Promise((res, rej) => exportRaw(b, (e) => (e ? rej(e) : res()))),
    close: () => client.close(),
  };
}

export function httpSender(port: number): (b: Buffer) => Promise<void> {
  return async (body) => {
    const res = await fetch(`http://127.0.0.1:${port}/v1/logs`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-protobuf' },
      body,
    });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
  };
}
