// `npm run bench -w @distlog/collector`: records per second from OTLP clients (gRPC and
// HTTP/protobuf) through the collector process into ClickHouse, against the ceiling of
// inserting the same rows straight into ClickHouse with @clickhouse/client in the
// same run. Prints records/s, the ratio to the ceiling, the collector's CPU per record
// and its peak memory. BENCH_RECORDS (default 400 000), BENCH_CONCURRENCY (64: many clients, as a fleet of services),
// BENCH_SOAK_SECONDS (0; e.g. 300 adds a steady run that samples the collector's memory).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createClient } from '@clickhouse/client';
import { forEachClickHouseTarget } from '../storage/targets';
import { LOG_COLUMNS, RowBinaryWriter } from '../sinks/clickhouse/row-binary';
import { patternIdOf } from '../model/pattern';
import { makeRow } from '../model/log-row';
import { MetricRollup } from '../metrics/rollup';
import { parseConfig } from '../config/collector-config';
import {
  PER_REQUEST,
  drive,
  grpcSender,
  httpSender,
  makeRows,
  procStats,
  requests,
  startCollector,
} from './load';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 400_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const SOAK_SECONDS = Number(process.env.BENCH_SOAK_SECONDS ?? 0);

/** Both ClickHouse lines side by side in one run (see forEachClickHouseTarget: BENCH_TARGETS, CLICKHOUSE_URL). */
async function main(): Promise<void> {
  const results: Array<Record<string, string>> = [];
  await forEachClickHouseTarget(async (url, label) => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'distlog-bench-'));
    try {
      for (const row of await benchTarget(url, tmp, label)) results.push({ ClickHouse: label, ...row });
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
  console.log(
    `\n${RECORDS} records (~330 B, 5 attributes) in requests of ${PER_REQUEST}, ${CONCURRENCY} in flight\n`,
  );
  console.table(results);
  for (const line of goals) console.log(line);
  console.table(perRecordCosts());
}

/** Issue 16's goals for the collector, each beside what this run measured (filled by benchTarget). */
const goals: string[] = [];

function goal(target: string, what: string, met: boolean, measured: string): void {
  goals.push(`goal (${target}): ${what}: ${met ? 'met' : 'NOT met'} (${measured})`);
}

/**
 * What two per-record steps of the collector cost in its thread, measured alone (they are
 * inside the CPU per record above): the message's pattern id (issue 21) and the three
 * shipped metrics (issue 19), over messages of the bench's shape and a mix of others.
 */
function perRecordCosts(): Array<Record<string, string>> {
  const bodies = [
    ...Array.from({ length: 64 }, (_, i) => `request handled: GET /orders/${i * 131} -> 200 in ${i % 97} ms`),
    'connected',
    "user 'bob' id 3f2a9c1e-1111-2222-3333-444455556666 took 10ms",
    '{"level":30,"msg":"checkout done","orderId":1003}',
    'charging 12.5 EUR for order 1003',
  ];
  const time = (n: number, fn: (i: number) => void) => {
    for (let i = 0; i < n / 10; i++) fn(i);
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn(i);
    return Number(process.hrtime.bigint() - t) / n;
  };
  let sink = 0;
  const patternNs = time(1_000_000, (i) => (sink ^= patternIdOf(bodies[i % bodies.length])[1]));
  const rows = bodies.map((body, i) =>
    makeRow({
      body,
      service: `svc-${i % 20}`,
      timeUnixNano: BigInt(Date.now()) * 1_000_000n,
      ...(i % 10 === 0
        ? { eventName: 'distlog.scope.end', attrs: { 'scope.name': 's', 'scope.duration_ms': '12.5' } }
        : {}),
    }),
  );
  const rollup = new MetricRollup(parseConfig('', 'bench', {}).metrics, 10_000);
  const metricsNs = time(20_000, () => rollup.observe(rows)) / rows.length;
  rollup.drain();
  void sink;
  return [
    { step: 'pattern id of the message (model/pattern.ts)', 'ns per record': patternNs.toFixed(0) },
    { step: 'the three shipped metrics (metrics/rollup.ts)', 'ns per record': metricsNs.toFixed(0) },
  ];
}

async function benchTarget(url: string, tmp: string, label: string): Promise<Array<Record<string, string>>> {
  const database = `distlog_bench_${Date.now()}`;
  const client = createClient({ url, request_timeout: 120_000 });
  try {
    const rows = makeRows(RECORDS);
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
      'x RowBinary': '-',
      'collector CPU µs/record': '-',
      'collector peak RSS MB': '-',
    });
    // Encoded for the table's Timestamp (DateTime64(9) on current ClickHouse, as the collector does).
    const [{ type: timeType }] = (await (
      await client.query({
        query: `SELECT type FROM system.columns WHERE database = '${database}' AND table = 'ceiling' AND name = 'Timestamp'`,
        format: 'JSONEachRow',
      })
    ).json()) as Array<{ type: string }>;
    t = performance.now();
    for (let i = 0; i < rows.length; i += 10_000) {
      const w = new RowBinaryWriter(timeType.startsWith('DateTime64'));
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
      'x RowBinary': '1.00',
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
      // Records of their own per pass: a request sent again is stored once (request ids), so
      // sending the first pass's bytes again would store nothing.
      const passBodies = requests(makeRows(RECORDS, BigInt(Date.now()) * 1_000_000n));
      const before = await count();
      const cpuBefore = procStats(collector.child.pid!).cpuMs;
      const sender = make();
      const ms = await drive(passBodies, sender.send, CONCURRENCY);
      sender.close();
      const stored = (await count()) - before;
      const stats = procStats(collector.child.pid!);
      if (stored !== RECORDS) throw new Error(`${name}: ${stored} of ${RECORDS} records stored`);
      const rate = RECORDS / (ms / 1000);
      const cpuUs = ((stats.cpuMs - cpuBefore) * 1000) / RECORDS;
      results.push({
        path: name,
        'records/s': rate.toFixed(0),
        'x ceiling': (rate / ceilingJson).toFixed(2),
        'x RowBinary': (rate / ceilingRowBinary).toFixed(2),
        'collector CPU µs/record': cpuUs.toFixed(2),
        'collector peak RSS MB': stats.peakRssMb.toFixed(0),
      });
      const transport = name.includes('gRPC') ? 'gRPC' : 'HTTP';
      goal(label, `${transport} ≤ 6 µs of collector CPU per record`, cpuUs <= 6, `${cpuUs.toFixed(2)} µs`);
      goal(
        label,
        `${transport} ≥ 0.95× the pre-encoded RowBinary ceiling`,
        rate / ceilingRowBinary >= 0.95,
        `${(rate / ceilingRowBinary).toFixed(2)}×`,
      );
    }
    const peak = procStats(collector.child.pid!).peakRssMb;
    goal(label, 'collector peak RSS ≤ 150 MB under the bench load', peak <= 150, `${peak.toFixed(0)} MB`);
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
            // Fresh records for every request: the same bytes again would be stored once.
            await sender.send(requests(makeRows(PER_REQUEST))[0]);
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
