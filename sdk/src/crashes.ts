import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { context, trace, isSpanContextValid } from '@opentelemetry/api';
import type { LogAttributes } from '@opentelemetry/api-logs';
import { SeverityNumber } from '@opentelemetry/api-logs';
import type { Resource } from '@opentelemetry/resources';
import type { OtlpProtocol } from './config';
import type { BoundedBatchProcessor } from './export/bounded-batch-processor';
import { serializeLogsRequest } from './export/logs-protobuf';
import { framedRequests, maxRequestBytesFrom, sizedRequests } from './export/sized-requests';
import { directRecord } from './internal/direct-record';
import { exceptionAttributes } from './mapper';
import { scopeAttributes } from './scope';

/**
 * Crashes and warnings as records (init() option `crashes`, default on):
 *
 * - An uncaught exception becomes one FATAL record, an unhandled rejection one ERROR record
 *   (event names distlog.process.uncaught_exception / unhandled_rejection) with
 *   exception.type/message/stacktrace and the trace context active where it was thrown.
 *   Only `uncaughtExceptionMonitor` is listened to, so Node still decides and prints what it
 *   would (the app's own handlers run; no handler is added that could swallow anything).
 *   When nothing will catch it the process is about to end synchronously, so the record —
 *   with every record still queued — is sent synchronously: a short child process delivers
 *   it with the SDK's own OTLP delivery (bounded by `timeoutMs`), then Node prints the error
 *   and exits with its usual code. When the app catches it, the record is queued as usual.
 * - `process.emitWarning` warnings (deprecations included) become WARN records (event name
 *   distlog.process.warning; warning.name, warning.code). Node prints them as before.
 */
/**
 * Records still queued when the process exits (`process.exit()` ends it without a
 * `beforeExit`, so nothing asynchronous can flush them — an app's uncaughtException
 * handler that exits, a CLI that exits when done) are sent synchronously from the `exit`
 * event, the same way as a crash record. Nothing is spawned when the queue is empty.
 */
export function deliverAtExit(options: {
  processor: BoundedBatchProcessor;
  protocol: OtlpProtocol;
  endpoint: string | undefined;
  timeoutMs: number;
}): () => void {
  const onExit = () => {
    try {
      const queued = options.processor.takeQueued();
      if (queued.length > 0) sendNow(queued, options);
    } catch {
      // Never let the SDK change how the process ends.
    }
  };
  process.on('exit', onExit);
  return () => process.off('exit', onExit);
}

export interface CrashCapture {
  release(): void;
}

export const CRASH_SCOPE = { name: 'distlog.process' };

export function captureCrashes(options: {
  processor: BoundedBatchProcessor;
  resource: Resource;
  protocol: OtlpProtocol;
  endpoint: string | undefined;
  timeoutMs: number;
}): CrashCapture {
  const { processor, resource } = options;
  const record = (
    severityNumber: SeverityNumber,
    body: string,
    eventName: string,
    attributes: LogAttributes,
  ) => {
    const active = context.active();
    const sc = trace.getSpanContext(active);
    return directRecord(
      {
        severityNumber,
        severityText: SeverityNumber[severityNumber],
        body,
        eventName,
        attributes: { ...scopeAttributes(active), ...attributes },
      },
      sc && isSpanContextValid(sc) ? sc : undefined,
      resource,
      CRASH_SCOPE,
      Date.now(),
    );
  };

  const onCrash = (error: unknown, origin: string) => {
    try {
      const rejection = origin === 'unhandledRejection';
      const attributes = exceptionAttributes(error);
      const type = attributes['exception.type'] ?? (rejection ? 'unhandled rejection' : 'uncaught exception');
      const crash = record(
        rejection ? SeverityNumber.ERROR : SeverityNumber.FATAL,
        `${type}: ${attributes['exception.message'] ?? String(error)}`,
        rejection ? 'distlog.process.unhandled_rejection' : 'distlog.process.uncaught_exception',
        attributes,
      );
      // Node ends the process right after this listener unless an uncaughtException handler catches it.
      if (process.listenerCount('uncaughtException') > 0) {
        processor.enqueue(crash);
        return;
      }
      sendNow([...processor.takeQueued(), crash], options);
    } catch {
      // Never let the SDK change how the process dies.
    }
  };
  const onWarning = (warning: Error & { code?: string }) => {
    try {
      processor.enqueue(
        record(SeverityNumber.WARN, `${warning.name}: ${warning.message}`, 'distlog.process.warning', {
          'warning.name': warning.name,
          ...(warning.code ? { 'warning.code': warning.code } : {}),
          ...(warning.stack ? { 'exception.stacktrace': warning.stack } : {}),
        }),
      );
    } catch {
      // Never let logging break the app.
    }
  };
  process.on('uncaughtExceptionMonitor', onCrash);
  process.on('warning', onWarning);
  return {
    release() {
      process.off('uncaughtExceptionMonitor', onCrash);
      process.off('warning', onWarning);
    },
  };
}

function sendNow(
  records: ReturnType<typeof directRecord>[],
  options: { protocol: OtlpProtocol; endpoint: string | undefined; timeoutMs: number },
): void {
  const result = spawnSync(
    process.execPath,
    [path.join(__dirname, 'export/crash-export.js'), options.protocol, options.endpoint ?? ''],
    {
      input: framedRequests(sizedRequests(records, serializeLogsRequest, maxRequestBytesFrom())),
      timeout: options.timeoutMs,
      stdio: ['pipe', 'ignore', 'pipe'],
      // The sender is a plain Node process: none of the app's preloads or flags.
      env: { ...process.env, NODE_OPTIONS: '' },
    },
  );
  if (result.error || result.status !== 0) {
    process.stderr.write(
      `distlog: ${records.length} records (the crash among them) were not delivered before the process ended: ${result.error?.message ?? String(result.stderr).trim()}\n`,
    );
  }
}
