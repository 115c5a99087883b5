// `node -r @distlog/sdk/register app.js`: Distlog with no code change — init() from
// OTEL_* variables, pino lines get trace context, console is captured when
// DISTLOG_CAPTURE_CONSOLE=1, the debug package's output when DISTLOG_CAPTURE_DEBUG=1.
import { isMainThread, workerData } from 'node:worker_threads';
import { initAs } from './init';
import { captureConsole } from './console';
import { captureDebug } from './debug';

// Not in a pino transport's worker (thread-stream): it inherits the app's -r/--import flags,
// and there Distlog's transport starts its own instance (no tracing, no level control: the
// app's thread has them), and other transports (pino/file, pino-pretty) need none. Starting
// one here made a second level-control subscription under the app's instance id that hid
// the app's loggers from `distlog level list`, and a false "init() was called again".
if (!isPinoTransportWorker()) {
  initAs('-r/--import @distlog/sdk/register');
  if (process.env.DISTLOG_CAPTURE_CONSOLE === '1') captureConsole();
  if (process.env.DISTLOG_CAPTURE_DEBUG === '1') captureDebug();
}

/** A thread thread-stream started for a pino transport: its workerData holds the shared buffers and `$context`. */
function isPinoTransportWorker(): boolean {
  if (isMainThread || typeof workerData !== 'object' || workerData === null) return false;
  const data = workerData as {
    stateBuf?: unknown;
    workerData?: { $context?: { threadStreamVersion?: unknown } };
  };
  return (
    data.stateBuf instanceof SharedArrayBuffer && data.workerData?.$context?.threadStreamVersion !== undefined
  );
}
