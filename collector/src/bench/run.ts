// `npm run bench -w @distlog/collector`: records per second from OTLP clients (gRPC and
// HTTP/protobuf) through the collector process into ClickHouse, against the ceiling of
// inserting the same rows straight into ClickHouse with @clickhouse/client in the
// same run. Prints records/s, the ratio to the ceiling, the collector's CPU per record
// and its peak memory. BENCH_RECORDS (default 400 000), BENCH_CONCURRENCY (64: many clients, as a fleet of services),
// BENCH_SOAK_SECONDS (0; e.g. 300 adds a steady run that samples the collector's memory).
import { spawn, ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { Readable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { createClient } from '@clickhouse/client';
import { forEachClickHouseTarget } from '../storage/targets';
import { logsServiceDefinition } from '../receivers/otlp/grpc-receiver';
import { encodeLogsRequest } from '../sinks/otlp/encode-request';
import { LogRow, ResourceInfo, ScopeInfo } from '../model/log-row';
import { LOG_COLUMNS, RowBinaryWriter } from '../sinks/clickhouse/row-binary';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 400_000);
const PER_REQUEST = 512;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const SOAK_SECONDS = Number(process.env.BENCH_SOAK_SECONDS ?? 0);
// The command as `npx distlog` runs it (the link npm makes in the root's node_modules/.bin).
const DISTLOG_BIN = path.resolve(__dirname, '../../../node_modules/.bin/distlog');

/** ~330-byte rows with 5 attributes, as in the project's storage measurements. */
function makeRows(count: number): LogRow[] {
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
  const start = BigInt(Date.now()) * 1_000_000n;
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

function requests(rows: LogRow[]): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < rows.length; i += PER_REQUEST)
    out.push(encodeLogsRequest(rows.slice(i, i + PER_REQUEST)));
  return out;
}

interface ProcStats {
  cpuMs: number;
  rssMb: number;
  peakRssMb: number;
}

function procStats(pid: number): ProcStats {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const ticks = Number(stat[11]) + Number(stat[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { cpuMs: (ticks * 1000) / 100, rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 };
}

async function startCollector(
  url: string,
  database: string,
  home: string,
): Promise<{ child: ChildProcess; grpcPort: number; httpPort: number }> {
  const child = spawn(
    process.execPath,
    [
      DISTLOG_BIN,
      'collector',
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
async function drive(
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

function grpcSender(port: number): { send: (b: Buffer) => Promise<void>; close: () => void } {
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

function httpSender(port: number): (b: Buffer) => Promise<void> {
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

/** Both ClickHouse lines side by side in one run (see forEachClickHouseTarget: BENCH_TARGETS, CLICKHOUSE_URL). */
async function main(): Promise<void> {
  const results: Array<Record<string, string>> = [];
  await forEachClickHouseTarget(async (url, label) => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'distlog-bench-'));
    try {
      for (const row of await benchTarget(url, tmp)) results.push({ ClickHouse: label, ...row });
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
  console.log(
    `\n${RECORDS} records (~330 B, 5 attributes) in requests of ${PER_REQUEST}, ${CONCURRENCY} in flight\n`,
  );
  console.table(results);
}

async function benchTarget(url: string, tmp: string): Promise<Array<Record<string, string>>> {
  const database = `distlog_bench_${Date.now()}`;
  const client = createClient({ url, request_timeout: 120_000 });
  try {
    const rows = makeRows(RECORDS);
    const bodies = requests(rows);
    const collector = await startCollector(url, database, path.join(tmp, 'home'));
    const results: Array<Record<string, string>> = [];
    const count = async () =>
      Number(
        (
          (await (
            await client.query({ query: `SELECT count() AS n FROM ${database}.logs`, format: 'JSONEachRow' })
          ).json()) as Array<{ n: string }>
        )[0].n,
      );

    // Ceilings: the same rows straight into ClickHouse, 10 000-row batches.
    await client.command({ query: `CREATE TABLE ${database}.ceiling AS ${database}.logs` });
    const asJson = rows.map((r) => {
      const o: Record<string, unknown> = {};
      o.Timestamp = Number(r.timeUnixNano / 1_000_000_000n);
      o.TimeUnixNano = r.timeUnixNano.toString();
      o.ObservedTimeUnixNano = r.observedTimeUnixNano.toString();
      o.SeverityNumber = r.severityNumber;
      o.SeverityText = r.severityText;
      o.ServiceName = r.resource.serviceName;
      o.ScopeName = r.scope.name;
      o.ScopeVersion = r.scope.version;
      o.EventName = r.eventName;
      o.Body = r.body;
      o.TraceId = r.traceId;
      o.SpanId = r.spanId;
      o.TraceFlags = r.traceFlags;
      o.ResourceSchemaUrl = '';
      o['ResourceAttributes.key'] = r.resource.attributes.keys;
      o['ResourceAttributes.value'] = r.resource.attributes.values;
      o['ScopeAttributes.key'] = [];
      o['ScopeAttributes.value'] = [];
      o['LogAttributes.key'] = r.attributes.keys;
      o['LogAttributes.value'] = r.attributes.values;
      o.DroppedAttributesCount = 0;
      return o;
    });
    let t = performance.now();
    for (let i = 0; i < asJson.length; i += 10_000) {
      await client.insert({
        table: `${database}.ceiling`,
        values: asJson.slice(i, i + 10_000),
        format: 'JSONEachRow',
      });
    }
    const ceilingJson = RECORDS / ((performance.now() - t) / 1000);
    results.push({
      path: '@clickhouse/client JSONEachRow (ceiling)',
      'records/s': ceilingJson.toFixed(0),
      'x ceiling': '1.00',
      'collector CPU µs/record': '-',
      'collector peak RSS MB': '-',
    });
    t = performance.now();
    for (let i = 0; i < rows.length; i += 10_000) {
      const w = new RowBinaryWriter();
      w.writeRows(rows.slice(i, i + 10_000));
      const r = await client.exec({
        query: `INSERT INTO ${database}.ceiling (${LOG_COLUMNS.map((c) => '`' + c + '`').join(',')}) FORMAT RowBinary`,
        values: Readable.from([w.bytes()], { objectMode: false }),
      });
      for await (const _ of r.stream) void _;
    }
    const ceilingRowBinary = RECORDS / ((performance.now() - t) / 1000);
    results.push({
      path: '@clickhouse/client RowBinary, pre-encoded',
      'records/s': ceilingRowBinary.toFixed(0),
      'x ceiling': (ceilingRowBinary / ceilingJson).toFixed(2),
      'collector CPU µs/record': '-',
      'collector peak RSS MB': '-',
    });

    for (const [name, make] of [
      ['OTLP/gRPC → collector → ClickHouse', () => grpcSender(collector.grpcPort)],
      [
        'OTLP/HTTP protobuf → collector → ClickHouse',
        () => ({ send: httpSender(collector.httpPort), close: () => undefined }),
      ],
    ] as const) {
      const before = await count();
      const cpuBefore = procStats(collector.child.pid!).cpuMs;
      const sender = make();
      const ms = await drive(bodies, sender.send, CONCURRENCY);
      sender.close();
      const stored = (await count()) - before;
      const stats = procStats(collector.child.pid!);
      if (stored !== RECORDS) throw new Error(`${name}: ${stored} of ${RECORDS} records stored`);
      const rate = RECORDS / (ms / 1000);
      results.push({
        path: name,
        'records/s': rate.toFixed(0),
        'x ceiling': (rate / ceilingJson).toFixed(2),
        'collector CPU µs/record': (((stats.cpuMs - cpuBefore) * 1000) / RECORDS).toFixed(2),
        'collector peak RSS MB': stats.peakRssMb.toFixed(0),
      });
    }
    if (SOAK_SECONDS > 0) {
      console.log(`\nsteady load for ${SOAK_SECONDS} s over gRPC, collector RSS sampled every 10 s:`);
      const sender = grpcSender(collector.grpcPort);
      const end = Date.now() + SOAK_SECONDS * 1000;
      const samples: number[] = [];
      const sampler = setInterval(() => samples.push(procStats(collector.child.pid!).rssMb), 10_000);
      let sent = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async (_, k) => {
          for (let i = k; Date.now() < end; i += CONCURRENCY) {
            await sender.send(bodies[i % bodies.length]);
            sent += PER_REQUEST;
          }
        }),
      );
      clearInterval(sampler);
      sender.close();
      console.log(`  ${sent} records, ${(sent / SOAK_SECONDS).toFixed(0)} records/s`);
      console.log(`  RSS MB: ${samples.map((s) => s.toFixed(0)).join(' ')}`);
      const half = Math.floor(samples.length / 2);
      const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
      console.log(
        `  mean RSS first half ${avg(samples.slice(0, half)).toFixed(0)} MB, second half ${avg(samples.slice(half)).toFixed(0)} MB`,
      );
    }
    collector.child.kill('SIGTERM');
    await new Promise((r) => collector.child.once('exit', r));
    await client.command({ query: `DROP DATABASE ${database}` });
    return results;
  } finally {
    await client.close();
  }
}

void main();
