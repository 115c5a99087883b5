// `npm run bench -w @distlog/sdk`: the cost of one pino call in the app's thread for
// plain pino to a file, pino + Distlog transport, pino + Distlog destination and pino +
// pino-opentelemetry-transport — each in its own process, all in one run, against one
// local OTLP endpoint that decodes and counts records (the collector's real receivers,
// no storage: this measures the app side). Two workloads (burst, turns: see variant.ts);
// a table for each with ratios to plain pino and to pino-opentelemetry-transport.
import { spawn } from 'node:child_process';
import path from 'node:path';
import {
  OtlpGrpcReceiver,
  OtlpHttpReceiver,
  DEFAULT_RECEIVER_LIMITS,
  Consumer,
  LogRow,
} from '@distlog/collector';

// distlog-transport-bare: the same worker with no SDK in the app's thread (no trace
// context), to tell the worker's share from the app thread's.
const VARIANTS = [
  'pino-file',
  'distlog-transport',
  'distlog-transport-bare',
  'distlog-destination',
  'pino-opentelemetry-transport',
];
const CALLS = Number(process.env.BENCH_CALLS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PROTOCOL = process.env.BENCH_PROTOCOL ?? 'http/protobuf';

interface Result {
  variant: string;
  nsPerCall: number;
  mainThreadCpuNsPerCall: number;
  peakRssMb: number;
  drainMs: number;
  dropped: number | null;
}

async function main(): Promise<void> {
  const received = new Map<string, number>();
  const counter: Consumer = {
    async consume(rows: LogRow[]) {
      for (const row of rows)
        received.set(row.resource.serviceName, (received.get(row.resource.serviceName) ?? 0) + 1);
      return undefined;
    },
  };
  const grpc = new OtlpGrpcReceiver({ host: '127.0.0.1', port: 0, limits: DEFAULT_RECEIVER_LIMITS }, counter);
  const http = new OtlpHttpReceiver({ host: '127.0.0.1', port: 0, limits: DEFAULT_RECEIVER_LIMITS }, counter);
  const grpcPort = await grpc.start();
  const httpPort = await http.start();

  const modes = ['burst', 'turns'] as const;
  const results = new Map<string, Result[]>();
  const key = (mode: string, variant: string) => `${mode} ${variant}`;
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of modes) {
      for (const variant of VARIANTS) {
        // Every exporter speaks the same protocol (BENCH_PROTOCOL, default http/protobuf).
        const result = await runVariant(variant, mode, {
          OTEL_SERVICE_NAME: variant,
          OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${PROTOCOL === 'grpc' ? grpcPort : httpPort}`,
          OTEL_EXPORTER_OTLP_PROTOCOL: PROTOCOL,
          OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: PROTOCOL,
        });
        results.set(key(mode, variant), [...(results.get(key(mode, variant)) ?? []), result]);
      }
    }
  }
  await new Promise((r) => setTimeout(r, 1000));
  await grpc.stop();
  await http.stop();

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const sent = (CALLS + Math.min(20_000, CALLS)) * ROUNDS;
  const delivered = (variant: string) => received.get(variant) ?? 0;
  for (const mode of modes) {
    const base = median(results.get(key(mode, 'pino-file'))!.map((r) => r.nsPerCall));
    const competitor = median(
      results.get(key(mode, 'pino-opentelemetry-transport'))!.map((r) => r.nsPerCall),
    );
    const rows = VARIANTS.map((variant) => {
      const rs = results.get(key(mode, variant))!;
      const ns = median(rs.map((r) => r.nsPerCall));
      return {
        variant,
        'ns/call (median)': ns.toFixed(0),
        'x plain pino': (ns / base).toFixed(2),
        'x pino-otel-transport': (ns / competitor).toFixed(2),
        'process CPU ns/call': median(rs.map((r) => r.mainThreadCpuNsPerCall)).toFixed(0),
        'peak RSS MB': Math.max(...rs.map((r) => r.peakRssMb)).toFixed(0),
        'drain ms': median(rs.map((r) => r.drainMs)).toFixed(0),
      };
    });
    console.log(
      mode === 'burst'
        ? `\nburst: ${CALLS} pino.info() calls in one synchronous loop under one span`
        : `\nturns: ${CALLS} pino.info() calls as requests of 10 lines, each in its own span and event-loop turn`,
    );
    console.table(rows);
  }
  console.log(
    `${ROUNDS} rounds, medians; OTLP ${PROTOCOL}, Node ${process.version}. Delivered to the OTLP endpoint (both modes):\n` +
      VARIANTS.filter((v) => v !== 'pino-file')
        .map((v) => `  ${v}: ${((delivered(v) / (2 * sent)) * 100).toFixed(1)}%`)
        .join('\n') +
      '\n(the rest dropped by a full export queue — the OTel default of 2048 records — in bursts)\n' +
      'trace context carried: distlog-transport and distlog-destination yes (trace/span id in the record);\n' +
      'pino-opentelemetry-transport only when the app adds trace_id/span_id to each line itself.',
  );
}

function runVariant(variant: string, mode: string, env: Record<string, string>): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [path.join(__dirname, 'variant.js'), variant, String(CALLS), mode],
      {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (code !== 0 || !line) reject(new Error(`${variant} exited with ${code}`));
      else resolve(JSON.parse(line));
    });
  });
}

void main();
