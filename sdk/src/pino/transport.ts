import { Writable } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';
import { diag } from '@opentelemetry/api';
import { init, EXIT_FLUSH_TIMEOUT_MS } from '../init';
import { settledWithin } from '../internal/deadline';
import { sayOnStderr } from '../internal/say';
import type { DistlogOptions } from '../config';
import { createPinoEmitter } from './emit';
import { ONLY_TRANSPORT_EVENT } from '../internal/pino-integration';
import { parsePinoLine } from './parse-line';
import type { PinoLoggerConfig } from '../mapper';

/**
 * The pino transport: `pino({ transport: { target: '@distlog/sdk/pino', options } })`.
 * It runs in pino's worker thread with its own export queue and exporter (options as
 * for init(), OTEL_* variables otherwise). Trace context arrives in each line, written
 * in the app's thread by the SDK, and goes into the record's trace fields.
 *
 * The worker's speed is the app's speed: when it falls behind, pino's ring buffer
 * fills and the app's thread waits. So lines are split and parsed straight from each
 * chunk pino hands over and fed into the export queue synchronously — no stream per
 * line, no promise per line (pino-abstract-transport's async iteration costs both).
 */
async function distlogTransport(options: DistlogOptions = {}): Promise<Writable> {
  const distlog = init({ ...options, tracing: false, exitHooks: false, levelControl: false });
  const config = await pinoConfig();
  const emit = createPinoEmitter({
    distlog,
    levelLabels: config?.levels?.labels,
    messageKey: config?.messageKey,
    errorKey: config?.errorKey,
  });
  let pending = '';
  const consume = (text: string) => {
    let start = 0;
    for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
      const line = pending + text.slice(start, end);
      pending = '';
      start = end + 1;
      if (line.length > 0) emitLine(line);
    }
    pending += text.slice(start);
  };
  const emitLine = (line: string) => {
    let value: unknown;
    try {
      value = parsePinoLine(line);
    } catch {
      // Not a pino line (something else wrote to the stream): kept as the body.
      value = { msg: line };
    }
    if (value !== null && typeof value === 'object') emit(value as Record<string, unknown>);
  };
  announceOnlyTransport();
  return new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, callback) {
      consume(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
      callback();
    },
    final(callback) {
      if (pending.length > 0) emitLine(pending);
      pending = '';
      callback();
    },
    destroy(err, callback) {
      // The last flush, bounded: pino's end() waits for this with the app's thread blocked.
      let shutdownError: Error | null = null;
      const flushed = distlog.shutdown().catch((e: unknown) => void (shutdownError = e as Error));
      void settledWithin(flushed, EXIT_FLUSH_TIMEOUT_MS).then((inTime) => {
        if (!inTime)
          sayOnStderr(
            `distlog: ${distlog.stats().queued + distlog.stats().sending} log records not sent at exit: the collector did not take them ` +
              `within ${EXIT_FLUSH_TIMEOUT_MS / 1000} s (is OTEL_EXPORTER_OTLP_ENDPOINT right, and the collector up?)\n`,
          );
        callback(err ?? shutdownError);
      });
    },
  });
}

/**
 * When this worker runs Distlog's transport alone (thread-stream loaded this file itself,
 * not pino's multi-target worker), says so to the stream in the app's thread
 * (thread-stream's EVENT message): a logger Distlog did not see being made — its pino was
 * loaded before init() — then gets the transport's fast path too (see pino/instrument.ts).
 */
function announceOnlyTransport(): void {
  const filename = String((workerData as { filename?: unknown } | undefined)?.filename ?? '');
  if (!parentPort || !/[\\/]pino[\\/]transport\.js$/.test(decodeURIComponent(filename))) return;
  parentPort.postMessage({ code: 'EVENT', name: ONLY_TRANSPORT_EVENT, args: [] });
}

/** pino (≥ 9) sends its levels (custom ones included), message key and error key to the worker before the first line. */
function pinoConfig(): Promise<PinoLoggerConfig | undefined> {
  const willSend = (workerData as { workerData?: { pinoWillSendConfig?: boolean } } | undefined)?.workerData
    ?.pinoWillSendConfig;
  if (!willSend || !parentPort) return Promise.resolve(undefined);
  const port = parentPort;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      port.off('message', onMessage);
      diag.warn('distlog: pino did not send its configuration; using the standard level names');
      resolve(undefined);
    }, 5000);
    const onMessage = (message: { code?: string; config?: PinoLoggerConfig }) => {
      if (message?.code !== 'PINO_CONFIG') return;
      clearTimeout(timer);
      port.off('message', onMessage);
      resolve(message.config);
    };
    port.on('message', onMessage);
  });
}

export = distlogTransport;
