// One benchmark variant in its own process: N pino calls inside an active span, timed
// in the app's thread. Prints one JSON line. Run by run.ts; not a test.
import { mkdtempSync } from 'node:fs';
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
      init();
      return require('pino')({}, distlogDestination());
    case 'pino-opentelemetry-transport':
      plainTracing();
      return require('pino')({ transport: { target: 'pino-opentelemetry-transport' } });
    default:
      throw new Error(`unknown variant ${variant}`);
  }
}

/* eslint-enable @typescript-eslint/no-require-imports */

async function main(): Promise<void> {
  const logger = makeLogger();
  const tracer = trace.getTracer('bench');
  const run = (n: number) =>
    tracer.startActiveSpan('request', (span) => {
      for (let i = 0; i < n; i++) logger.info({ i, user: 'ada', path: '/orders/42' }, 'request handled');
      span.end();
    });
  run(Math.min(20_000, calls));
  await new Promise((r) => setTimeout(r, 1500));
  const startCpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  run(calls);
  const elapsed = process.hrtime.bigint() - start;
  const cpu = process.cpuUsage(startCpu);
  const drainStart = Date.now();
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  const stats = getDistlog()?.stats();
  await shutdown();
  const drainMs = Date.now() - drainStart;
  process.stdout.write(
    JSON.stringify({
      variant,
      calls,
      nsPerCall: Number(elapsed) / calls,
      mainThreadCpuNsPerCall: ((cpu.user + cpu.system) * 1000) / calls,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      drainMs,
      dropped: stats?.dropped ?? null,
    }) + '\n',
  );
  // Transports end their workers at exit (flushing what is left).
}

void main();
