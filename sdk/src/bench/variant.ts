// One benchmark variant in its own process: N pino calls inside active spans, timed
// in the app's thread (argv: variant, calls, burst|turns). Prints one JSON line. Run by run.ts; not a test.
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { init, shutdown, distlogDestination, getDistlog } from '../index';

type Logger = { info(obj: object, msg: string): void; flush(cb?: (err?: Error) => void): void };

const variant = process.argv[2];
const calls = Number(process.argv[3] ?? 100_000);

function plainTracing(): void {
  trace.setGlobalTracerProvider(new BasicTracerProvider());
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
}

// The OTel SDK's BatchLogRecordProcessor that pino-opentelemetry-transport uses does not read
// OTEL_BLRP_MAX_QUEUE_SIZE (Distlog's queue does): pass it on as the transport's own option.
function otelTransportOptions(): object | undefined {
  const maxQueueSize = Number(process.env.OTEL_BLRP_MAX_QUEUE_SIZE);
  if (!maxQueueSize) return undefined;
  return { logRecordProcessorOptions: { recordProcessorType: 'batch', processorConfig: { maxQueueSize } } };
}

/* eslint-disable @typescript-eslint/no-require-imports -- pino must load after init() (see below) */
function makeLogger(): Logger {
  // Loaded after init() where the SDK is used, so trace context is added, as documented.
  switch (variant) {
    case 'pino-file': {
      plainTracing();
      const pino = require('pino');
      const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'distlog-bench-')), 'out.log');
      return pino(pino.destination({ dest: file, sync: false }));
    }
    case 'distlog-transport':
      // BENCH_INIT_OPTIONS (JSON) tries SDK options, e.g. {"pinoTraceContext":false}.
      init(JSON.parse(process.env.BENCH_INIT_OPTIONS ?? '{}'));
      return require('pino')({ transport: { target: '@distlog/sdk/pino' } });
    case 'distlog-transport-bare':
      // The transport alone: no SDK in the app's thread (so no trace context), for comparison.
      plainTracing();
      return require('pino')({ transport: { target: '@distlog/sdk/pino' } });
    case 'distlog-destination':
    case 'distlog-destination-grpc': // run.ts points it at the gRPC receiver
      init();
      return require('pino')({}, distlogDestination());
    case 'pino-opentelemetry-transport':
      plainTracing();
      return require('pino')({
        transport: { target: 'pino-opentelemetry-transport', options: otelTransportOptions() },
      });
    default:
      throw new Error(`unknown variant ${variant}`);
  }
}

/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * burst: every call in one synchronous loop under one span (nothing leaves the app's
 * thread until the loop ends). turns: requests of LINES_PER_TURN calls, each in its own
 * span and event-loop turn, as a server logs — the time includes what the stream does
 * between turns (pino's flushes, thread-stream's hand-over to the worker).
 */
const mode = (['turns', 'steady'] as const).find((m) => m === process.argv[4]) ?? 'burst';
/** steady: BENCH_RATE lines a second (default 50 000), paced by the clock, in requests of LINES_PER_TURN. */
const RATE = Number(process.env.BENCH_RATE ?? 50_000);
const LINES_PER_TURN = 10;
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The app thread's own time on a CPU and waiting for one, in ns (Linux's per-thread schedstat;
 * NaN elsewhere). Wall time in the app's thread also counts the moments it was not running —
 * this VM takes cores away for seconds at a time — so the thread's CPU is printed beside it.
 */
function appThreadSchedule(): { cpu: number; waiting: number } {
  try {
    const [cpu, waiting] = readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8')
      .split(' ')
      .map(Number);
    return { cpu, waiting };
  } catch {
    return { cpu: NaN, waiting: NaN };
  }
}

async function main(): Promise<void> {
  const logger = makeLogger();
  const tracer = trace.getTracer('bench');
  const request = (n: number) =>
    tracer.startActiveSpan('request', (span) => {
      for (let i = 0; i < n; i++) logger.info({ i, user: 'ada', path: '/orders/42' }, 'request handled');
      span.end();
    });
  const run = async (n: number) => {
    if (mode === 'burst') return request(n);
    if (mode === 'steady') {
      const started = performance.now();
      for (let done = 0; done < n;) {
        const due = Math.min(n, Math.floor(((performance.now() - started) * RATE) / 1000));
        while (done < due) {
          const lines = Math.min(LINES_PER_TURN, due - done);
          request(lines);
          done += lines;
        }
        // A server between requests: the thread sleeps (a spinning loop would bill its CPU to logging).
        await new Promise((r) => setTimeout(r, 1));
      }
      return;
    }
    for (let done = 0; done < n; done += LINES_PER_TURN) {
      request(Math.min(LINES_PER_TURN, n - done));
      await nextTurn();
    }
  };
  await run(Math.min(mode === 'steady' ? RATE / 10 : 20_000, calls));
  await new Promise((r) => setTimeout(r, 1500));
  const startCpu = process.cpuUsage();
  const startThread = appThreadSchedule();
  const start = process.hrtime.bigint();
  await run(calls);
  const elapsed = process.hrtime.bigint() - start;
  const thread = appThreadSchedule();
  const cpu = process.cpuUsage(startCpu);
  const drainStart = Date.now();
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  const stats = getDistlog()?.stats();
  await shutdown();
  const drainMs = Date.now() - drainStart;
  process.stdout.write(
    JSON.stringify({
      variant,
      mode,
      calls,
      nsPerCall: Number(elapsed) / calls,
      mainThreadCpuNsPerCall: ((cpu.user + cpu.system) * 1000) / calls,
      appThreadCpuNsPerCall: (thread.cpu - startThread.cpu) / calls,
      appThreadWaitingNsPerCall: (thread.waiting - startThread.waiting) / calls,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      drainMs,
      dropped: stats?.dropped ?? null,
    }) + '\n',
  );
  // Transports end their workers at exit (flushing what is left).
}

void main();
