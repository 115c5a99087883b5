// The load the benches send: rows like a fleet of services logs, encoded as OTLP
// requests, and the clients that send them (gRPC and HTTP/protobuf) with many in flight.
// Used by the collector bench (./run.ts) and by the scale-out bench (tests/bench).
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import path from 'node:path';
import readline from 'node:readline';
import v8 from 'node:v8';
import vm from 'node:vm';
import { logsServiceDefinition } from '@distlog/proto';
import { encodeLogsRequest } from '../sinks/otlp/encode-request';
import type { LogRow, ResourceInfo, ScopeInfo } from '../model/log-row';

export const PER_REQUEST = 512;
// The command as `npx distlog` runs it (the link npm makes in the root's node_modules/.bin).
const DISTLOG_BIN = path.resolve(__dirname, '../../../node_modules/.bin/distlog');

let nextStart = 0n;

/**
 * ~330-byte rows with 5 attributes, as in the project's storage measurements, dated from `startNanos` (default now), 1 µs apart. Every call's rows are later than
 * the last call's, so two sets of rows never encode to the same request. `first`: the
 * index of the first row in a larger set made piece by piece (see requestBodies).
 */
export function makeRows(count: number, startNanos = BigInt(Date.now()) * 1_000_000n, first = 0): LogRow[] {
  if (first === 0 && startNanos < nextStart) startNanos = nextStart;
  nextStart = startNanos + BigInt(first + count) * 1000n;
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
  return Array.from({ length: count }, (_, k) => {
    const i = first + k;
    return {
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
    };
  });
}

/**
 * The requests of `count` rows as makeRows(count) would make them, made one request at a
 * time: the clients' rows die young instead of filling the bench process's heap, whose
 * collection then ran in the measured passes (its CPU is counted as the clients').
 */
export function requestBodies(count: number, startNanos = BigInt(Date.now()) * 1_000_000n): Buffer[] {
  const start = startNanos < nextStart ? nextStart : startNanos;
  const out: Buffer[] = [];
  for (let k = 0; k < count; k += PER_REQUEST)
    out.push(encodeLogsRequest(makeRows(Math.min(PER_REQUEST, count - k), start, k)));
  return out;
}

let gc: (() => void) | undefined;

/**
 * A full collection of this (the bench's) process's heap: called before a measured phase
 * starts its clock, so that the setup's garbage is not collected, and counted as the
 * clients' CPU, while it runs.
 */
export function collectGarbage(): void {
  gc ??= (v8.setFlagsFromString('--expose-gc'), vm.runInNewContext('gc') as () => void);
  gc();
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

/**
 * CPU time (ms) of a process's threads whose names match `name` (`/proc/PID/task/TID/comm`), e.g.
 * ClickHouse's merge threads; NaN when none has that name. Threads that ended are not
 * counted: use it for long-lived pools.
 */
export function threadCpuMs(pid: number, name: RegExp): number {
  let ticks = 0;
  let matched = false;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      if (!name.test(readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim())) continue;
      matched = true;
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
      ticks += Number(stat[11]) + Number(stat[12]);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return matched ? (ticks * 1000) / 100 : NaN;
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

/**
 * Sends every request with `concurrency` in flight; resolves when all are acknowledged
 * (ms). `latencies`, when given, gets each request's time to its acknowledgement (ms).
 */
export async function drive(
  bodies: Buffer[],
  send: (body: Buffer) => Promise<void>,
  concurrency: number,
  latencies?: number[],
): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) {
        const sent = performance.now();
        await send(bodies[next++]);
        latencies?.push(performance.now() - sent);
      }
    }),
  );
  return performance.now() - started;
}

const EXPORT_PATH = logsServiceDefinition().Export.path;

/** One OTLP/gRPC Export on an HTTP/2 session, framed by hand; rejects unless grpc-status is 0. */
export function grpcExport(session: http2.ClientHttp2Session, message: Buffer): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const stream = session.request({
      ':method': 'POST',
      ':path': EXPORT_PATH,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    let status: string | undefined;
    const statusOf = (h: http2.IncomingHttpHeaders) => {
      if (h['grpc-status'] !== undefined) status = String(h['grpc-status']);
    };
    stream.on('response', statusOf);
    stream.on('trailers', statusOf);
    stream.on('data', () => undefined);
    stream.on('error', reject);
    stream.on('close', () =>
      status === '0' ? resolve() : reject(new Error(`gRPC status ${status ?? 'none'} (stream closed)`)),
    );
    const prefix = Buffer.allocUnsafe(5);
    prefix[0] = 0;
    prefix.writeUInt32BE(message.length, 1);
    stream.write(prefix);
    stream.end(message);
  });
}

/**
 * OTLP/gRPC requests written straight onto HTTP/2 streams with node:http2 — gRPC's framing
 * (a 5-byte prefix, `grpc-status` in the trailers) without a gRPC library: @grpc/grpc-js
 * cost the bench process ~3.3 µs of CPU per record, CPU the shared cores took from
 * ClickHouse. One connection per 8 requests in flight, as a fleet's services each have
 * their own (`connections` to change it).
 */
export function grpcSender(
  port: number,
  connections = Math.max(1, Math.ceil(Number(process.env.BENCH_CONCURRENCY ?? 64) / 8)),
): { send: (b: Buffer) => Promise<void>; close: () => void } {
  const sessions = Array.from({ length: connections }, () => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', () => undefined); // its streams fail too, and reject their sends
    return session;
  });
  let turn = 0;
  const send = (message: Buffer) => grpcExport(sessions[turn++ % sessions.length], message);
  return { send, close: () => sessions.forEach((s) => s.close()) };
}

/**
 * OTLP/HTTP protobuf requests over keep-alive connections with node:http, the cheapest
 * client Node has (`fetch` cost the bench process 6–7 µs of CPU per record, more than the
 * collector: CPU the shared cores took from ClickHouse). `close()` ends the connections.
 */
export function httpSender(port: number): { send: (b: Buffer) => Promise<void>; close: () => void } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const send = (body: Buffer) =>
    new Promise<void>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          path: '/v1/logs',
          method: 'POST',
          agent,
          headers: { 'Content-Type': 'application/x-protobuf', 'Content-Length': body.length },
        },
        (res) => {
          res.on('data', () => undefined);
          res.on('end', () =>
            res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`)),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  return { send, close: () => agent.destroy() };
}
