// The in-process destination taken apart in ONE process: loggers that differ only in what
// follows the capture (nothing, serializing, sending over each client) and plain pino to a
// file, run in alternating segments of the `turns` shape. Separate processes (run.ts's
// tables) are what a user runs, but on this machine they vary by ±30 % from one run to the
// next; here every logger shares the heap, the JIT and the hour, so the differences between
// them are steady (the ratios come out lower than run.ts's: plain pino shares its code with
// the others). Run by run.ts with BENCH_ONLY=same-process, against its receivers; prints one
// table. Not a test.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { trace } from '@opentelemetry/api';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { init, distlogDestination, getDistlog } from '../index';
import { BoundedBatchProcessor } from '../export/bounded-batch-processor';
import { createExporter } from '../export/exporters';
import { serializeLogsRequest } from '../export/logs-protobuf';

type Logger = { info(obj: object, msg: string): void };

const httpUrl = `http://127.0.0.1:${process.env.BENCH_HTTP_PORT}`;
const grpcUrl = `http://127.0.0.1:${process.env.BENCH_GRPC_PORT}`;
const SEGMENT = Number(process.env.BENCH_SEGMENT ?? 10_000);
const ROUNDS = Number(process.env.BENCH_SEGMENT_ROUNDS ?? 20);

init({ levelControl: false, crashes: false, endpoint: 'http://127.0.0.1:9' });
// eslint-disable-next-line @typescript-eslint/no-require-imports -- pino after init(), as documented
const pino = require('pino');
const resource = getDistlog()!.resource;

/** An exporter that does not send: `serialize` makes each request's bytes and drops them. */
function notSending(serialize: boolean) {
  return {
    export(records: ReadableLogRecord[], done: (r: { code: number }) => void) {
      if (serialize) serializeLogsRequest(records);
      done({ code: 0 });
    },
    shutdown: async () => undefined,
    forceFlush: async () => undefined,
  };
}

/** A destination over its own processor and exporter; `env` set while the exporter is made (the client switches). */
function destination(exporter: () => unknown, env: Record<string, string> = {}, fromCall = true): Logger {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  const made = exporter();
  for (const [k, v] of Object.entries(saved))
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  const processor = new BoundedBatchProcessor(made as never, {}, {});
  return pino({}, distlogDestination({ distlog: { processor, resource } as never, fromCall }));
}

const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'distlog-bench-')), 'out.log');
const loggers: Array<[string, Logger]> = [
  ['plain pino to a file', pino(pino.destination({ dest: file, sync: false }))],
  ['destination, records only queued', destination(() => notSending(false))],
  ['… the same, each line parsed back', destination(() => notSending(false), {}, false)],
  ['… and serialized, not sent', destination(() => notSending(true))],
  ['… sent over OTLP/HTTP, Distlog’s client', destination(() => createExporter('http/protobuf', httpUrl))],
  [
    '… sent over OTLP/HTTP, node:http',
    destination(() => createExporter('http/protobuf', httpUrl), { DISTLOG_EXPORT_HTTP_CLIENT: 'node' }),
  ],
  ['… sent over OTLP/gRPC, Distlog’s client', destination(() => createExporter('grpc', grpcUrl))],
  [
    '… sent over OTLP/gRPC, grpc-js',
    destination(() => createExporter('grpc', grpcUrl), { DISTLOG_EXPORT_GRPC_CLIENT: 'grpc-js' }),
  ],
];

const tracer = trace.getTracer('bench');
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
async function run(logger: Logger, calls: number): Promise<number> {
  const start = process.hrtime.bigint();
  for (let done = 0; done < calls; done += 10) {
    tracer.startActiveSpan('request', (span) => {
      for (let i = 0; i < 10; i++) logger.info({ i, user: 'ada', path: '/orders/42' }, 'request handled');
      span.end();
    });
    await nextTurn();
  }
  return Number(process.hrtime.bigint() - start) / calls;
}

async function main(): Promise<void> {
  for (const [, logger] of loggers) await run(logger, 20_000); // warm-up
  const ns = loggers.map(() => [] as number[]);
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate the order, so that no logger always follows the same one.
    const order = loggers.map((_, i) => i);
    if (round % 2) order.reverse();
    for (const i of order) ns[i].push(await run(loggers[i][1], SEGMENT));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(
    `\nthe destination in one process: ${ROUNDS} rounds of ${SEGMENT} calls per logger, turns shape (ratios: medians of each round's)`,
  );
  console.table(
    loggers.map(([name], i) => ({
      logger: name,
      'ns/call (median)': median(ns[i]).toFixed(0),
      'x plain pino': median(ns[i].map((x, r) => x / ns[0][r])).toFixed(2),
    })),
  );
  process.exit(0);
}

void main();
