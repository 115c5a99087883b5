// `npm run bench -w @distlog/sdk`: the cost of one pino call in the app's thread for
// plain pino to a file, pino + Distlog transport, pino + Distlog destination and pino +
// pino-opentelemetry-transport — each in its own process, all in one run, against one
// local OTLP endpoint that counts records (counting-endpoint.ts: this measures the app side). Three workloads (WORKLOADS below); a table
// for each with ratios to plain pino and to pino-opentelemetry-transport.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { serializerBench } from './serialize';
import { debugBench } from './debug';
import { holdBench } from './hold';
import { httpBench } from './http-bench';
import { startCountingEndpoint } from './counting-endpoint';

// distlog-transport-bare: the same worker with no SDK in the app's thread (no trace
// context), to tell the worker's share from the app thread's.
const VARIANTS = [
  'pino-file',
  'distlog-transport',
  'distlog-transport-bare',
  'distlog-destination',
  // The same over OTLP/gRPC, the SDK's default protocol, whatever BENCH_PROTOCOL says.
  'distlog-destination-grpc',
  'pino-opentelemetry-transport',
];
const CALLS = Number(process.env.BENCH_CALLS ?? 200_000);

interface Workload {
  name: string;
  mode: 'burst' | 'turns' | 'steady';
  /** Calls in the measured run (default CALLS). */
  calls?: number;
  text: string;
  env: Record<string, string>;
}
// See variant.ts for the two modes. The third lets no record go (an export queue as large as
// the run, for every variant), so each also pays for exporting all it was given.
const WORKLOADS: Workload[] = [
  { name: 'burst', mode: 'burst', text: 'in one synchronous loop under one span', env: {} },
  {
    name: 'turns',
    mode: 'turns',
    text: 'as requests of 10 lines, each in its own span and event-loop turn',
    env: {},
  },
  {
    name: 'steady 50k/s',
    mode: 'steady',
    calls: 500_000,
    text: 'at a steady 50 000 lines/s for 10 s, in requests of 10 lines (default settings); goal: 100 % delivered',
    env: { BENCH_RATE: '50000' },
  },
  {
    name: 'turns, no drops',
    mode: 'turns',
    text: 'as in turns, with an export queue that holds them all (OTEL_BLRP_MAX_QUEUE_SIZE=262144)',
    env: { OTEL_BLRP_MAX_QUEUE_SIZE: '262144' },
  },
];
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
// BENCH_WORKLOADS / BENCH_VARIANTS (comma-separated names) run a part (`http`, `grpc`: the request-scope benches, http-bench.ts); pino-file and
// pino-opentelemetry-transport always run, as the baselines the ratios need.
const only = (list: string | undefined) => (list ? new Set(list.split(',').map((x) => x.trim())) : undefined);
const onlyWorkloads = only(process.env.BENCH_WORKLOADS);
const onlyVariants = only(process.env.BENCH_VARIANTS);
const PROTOCOL = process.env.BENCH_PROTOCOL ?? 'http/protobuf';

interface Result {
  variant: string;
  nsPerCall: number;
  mainThreadCpuNsPerCall: number;
  appThreadCpuNsPerCall: number;
  appThreadWaitingNsPerCall: number;
  peakRssMb: number;
  drainMs: number;
  dropped: number | null;
}

async function main(): Promise<void> {
  const sameProcessOnly = process.env.BENCH_ONLY === 'same-process';
  if (!sameProcessOnly) serializerBench();
  if (process.env.BENCH_ONLY !== 'pino' && !sameProcessOnly) {
    debugBench();
    holdBench();
  }
  if (process.env.BENCH_ONLY === 'levels') return;
  const endpoint = await startCountingEndpoint();
  const received = endpoint.counts;
  const { grpcPort, httpPort } = endpoint;
  if (sameProcessOnly) {
    // same-process.ts: the destination taken apart in one process, against these receivers.
    await new Promise<void>((resolve, reject) =>
      spawn(process.execPath, [path.join(__dirname, 'same-process.js')], {
        env: {
          ...process.env,
          DISTLOG_LEVELS: 'off',
          BENCH_HTTP_PORT: String(httpPort),
          BENCH_GRPC_PORT: String(grpcPort),
        },
        stdio: 'inherit',
      }).on('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`same-process.js exited with ${code}`)),
      ),
    );
    await endpoint.close();
    return;
  }
  if (!onlyWorkloads || onlyWorkloads.has('http'))
    await httpBench(`http://127.0.0.1:${PROTOCOL === 'grpc' ? grpcPort : httpPort}`, PROTOCOL);
  if (!onlyWorkloads || onlyWorkloads.has('grpc'))
    await httpBench(`http://127.0.0.1:${PROTOCOL === 'grpc' ? grpcPort : httpPort}`, PROTOCOL, 'grpc');

  const results = new Map<string, Result[]>();
  const key = (workload: Workload, variant: string) => `${workload.name} ${variant}`;
  for (let round = 0; round < ROUNDS; round++) {
    for (const workload of WORKLOADS.filter((w) => !onlyWorkloads || onlyWorkloads.has(w.name))) {
      for (const variant of VARIANTS.filter(
        (v) =>
          !onlyVariants || onlyVariants.has(v) || v === 'pino-file' || v === 'pino-opentelemetry-transport',
      )) {
        // Every exporter speaks the same protocol (BENCH_PROTOCOL, default http/protobuf), but
        // the `-grpc` variant (the SDK's default).
        const protocol = variant.endsWith('-grpc') ? 'grpc' : PROTOCOL;
        const result = await runVariant(variant, workload.mode, workload.calls ?? CALLS, {
          OTEL_SERVICE_NAME: key(workload, variant),
          OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${protocol === 'grpc' ? grpcPort : httpPort}`,
          OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
          OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: protocol,
          ...workload.env,
        });
        results.set(key(workload, variant), [...(results.get(key(workload, variant)) ?? []), result]);
      }
    }
  }
  await new Promise((r) => setTimeout(r, 1000));
  await endpoint.close();

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const goals: string[] = [];
  for (const workload of WORKLOADS.filter((w) => !onlyWorkloads || onlyWorkloads.has(w.name))) {
    const calls = workload.calls ?? CALLS;
    const warmUp = Math.min(
      workload.mode === 'steady' ? Number(workload.env.BENCH_RATE) / 10 : 20_000,
      calls,
    );
    const sent = (calls + warmUp) * ROUNDS;
    const nsOf = (variant: string) => median(results.get(key(workload, variant))!.map((r) => r.nsPerCall));
    // Each round's ratio to the baseline run in the same round, seconds before: this machine
    // drifts by ±20 % over minutes, and a ratio of medians taken from different rounds
    // carried that drift (as in the collector bench, the median of paired ratios is the figure).
    const roundRatios = (
      variant: string,
      baseline: string,
      of: (r: Result) => number = (r) => r.nsPerCall,
    ) => {
      const rs = results.get(key(workload, variant))!;
      const base = results.get(key(workload, baseline))!;
      return rs.map((r, i) => of(r) / of(base[i]));
    };
    const ratio = (variant: string, baseline: string) => median(roundRatios(variant, baseline));
    const threadCpu = (r: Result) => r.appThreadCpuNsPerCall;
    const rows = VARIANTS.filter((v) => results.has(key(workload, v))).map((variant) => {
      const rs = results.get(key(workload, variant))!;
      const ns = nsOf(variant);
      const delivered = received.get(key(workload, variant)) ?? 0;
      return {
        variant,
        'ns/call (median)': ns.toFixed(0),
        'x plain pino': ratio(variant, 'pino-file').toFixed(2),
        'x pino-otel-transport': ratio(variant, 'pino-opentelemetry-transport').toFixed(2),
        'app thread CPU ns/call': median(rs.map(threadCpu)).toFixed(0),
        'x plain pino (thread CPU)': median(roundRatios(variant, 'pino-file', threadCpu)).toFixed(2),
        'waiting ns/call': median(rs.map((r) => r.appThreadWaitingNsPerCall)).toFixed(0),
        'process CPU ns/call': median(rs.map((r) => r.mainThreadCpuNsPerCall)).toFixed(0),
        'peak RSS MB': Math.max(...rs.map((r) => r.peakRssMb)).toFixed(0),
        'drain ms': median(rs.map((r) => r.drainMs)).toFixed(0),
        delivered: variant === 'pino-file' ? '(file)' : `${((delivered / sent) * 100).toFixed(2)}%`,
        'dropped (SDK count)': rs.every((r) => r.dropped === null)
          ? '-'
          : String(rs.reduce((n, r) => n + (r.dropped ?? 0), 0)),
      };
    });
    console.log(`\n${workload.name}: ${calls} pino.info() calls ${workload.text}`);
    console.table(rows);
    // The goals of issue 16, beside what was measured.
    for (const [variant, over] of [
      ['distlog-destination', PROTOCOL],
      ['distlog-destination-grpc', 'grpc'],
    ]) {
      const destination = rows.find((r) => r.variant === variant);
      if (destination)
        goals.push(
          `${workload.name}: in-process destination over ${over} ${destination['x plain pino']}× plain pino (goal ≤ 1.30×) — ` +
            (Number(destination['x plain pino']) <= 1.3 ? 'met' : 'NOT met') +
            ` (rounds: ${roundRatios(variant, 'pino-file')
              .map((r) => r.toFixed(2))
              .join(', ')})`,
        );
    }
    if (workload.mode === 'steady')
      for (const r of rows.filter((r) => r.variant.startsWith('distlog-')))
        goals.push(
          `${workload.name}: ${r.variant} delivered ${r.delivered} (goal 100 %) — ${r.delivered === '100.00%' ? 'met' : 'NOT met'}`,
        );
  }
  if (goals.length > 0) console.log(`\ngoals:\n  ${goals.join('\n  ')}`);
  console.log(
    `${ROUNDS} rounds; ns/call: medians; ratios: medians of each round's ratio to the baseline run in the same round; OTLP ${PROTOCOL} (distlog-destination-grpc: gRPC), Node ${process.version}.\n` +
      'delivered: records that reached the OTLP endpoint; the rest were dropped by a full export queue\n' +
      '(the OTel default holds 2048 records) and counted by the SDK.\n' +
      'trace context carried: distlog-transport and distlog-destination yes (trace/span id in the record);\n' +
      'pino-opentelemetry-transport only when the app adds trace_id/span_id to each line itself.',
  );
}

function runVariant(
  variant: string,
  mode: string,
  calls: number,
  env: Record<string, string>,
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      // BENCH_NODE_ARGS: Node options for the variants, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
      [
        ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean),
        path.join(__dirname, 'variant.js'),
        variant,
        String(calls),
        mode,
      ],
      {
        // Each variant its own process and identity: the level benches ran init() here, which
        // leaves DISTLOG_SERVICE_NAME/_INSTANCE_ID in the environment for pino's worker.
        // The bench's receivers offer no level control: DISTLOG_LEVELS=off keeps stderr quiet.
        env: {
          ...Object.fromEntries(
            Object.entries(process.env).filter(([k]) => !k.startsWith('DISTLOG_SERVICE_')),
          ),
          DISTLOG_LEVELS: 'off',
          ...env,
        },
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
