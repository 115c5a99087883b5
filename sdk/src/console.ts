import { format } from 'node:util';
import { context } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { distlogLoggerProvider } from './internal/logger-provider';
import { activeTraceId, hold, HELD_ATTRIBUTE } from './levels/hold';
import { scopeAttributes } from './scope';

/**
 * console.* → OTel log records. Arguments are formatted as Node formats them
 * (util.format), the terminal output stays unless `print: false`, and a console call
 * made while a record is being emitted (e.g. by an exporter's diagnostics) is printed
 * but never captured again, so capture cannot recurse.
 */
export interface CaptureConsoleOptions {
  /** Keep writing to the terminal as before. Default true. */
  print?: boolean;
  /** Scope (logger) name of the records. Default `console`. */
  loggerName?: string;
}

type Method = 'debug' | 'log' | 'info' | 'warn' | 'error' | 'trace';

const SEVERITY: Record<Method, SeverityNumber> = {
  trace: SeverityNumber.TRACE,
  debug: SeverityNumber.DEBUG,
  log: SeverityNumber.INFO,
  info: SeverityNumber.INFO,
  warn: SeverityNumber.WARN,
  error: SeverityNumber.ERROR,
};

let originals: Partial<Record<Method, (...args: unknown[]) => void>> | undefined;
let emitting = false;
let minimumSeverity: SeverityNumber = SeverityNumber.UNSPECIFIED;
let held = false;

export function captureConsole(options: CaptureConsoleOptions = {}): void {
  if (originals) return;
  const print = options.print ?? true;
  const logger = distlogLoggerProvider().getLogger(options.loggerName ?? 'console');
  originals = {};
  for (const method of Object.keys(SEVERITY) as Method[]) {
    const original = console[method].bind(console) as (...args: unknown[]) => void;
    originals[method] = original;
    console[method] = (...args: unknown[]) => {
      if (print) original(...args);
      const severityNumber = SEVERITY[method];
      if (emitting || severityNumber < minimumSeverity) return;
      emitting = true;
      try {
        const attributes = { ...scopeAttributes(), 'console.method': method };
        let body = format(...args);
        if (method === 'trace') body += '\n' + (new Error().stack ?? '').split('\n').slice(2).join('\n');
        const record = {
          severityNumber,
          severityText: method === 'log' ? 'INFO' : method.toUpperCase(),
          body,
          attributes,
          context: context.active(),
        };
        if (held && severityNumber < SeverityNumber.INFO) {
          const at = Date.now();
          hold(activeTraceId(), () =>
            logger.emit({ ...record, timestamp: at, attributes: { ...attributes, [HELD_ATTRIBUTE]: true } }),
          );
        } else logger.emit(record);
      } catch {
        // Never let logging break the app.
      } finally {
        emitting = false;
      }
    };
  }
}

export function releaseConsole(): void {
  if (!originals) return;
  for (const [method, original] of Object.entries(originals)) console[method as Method] = original;
  originals = undefined;
}

/** An onError rule covers `console`: its DEBUG/TRACE records are held until the trace fails (levels/hold.ts). */
export function setConsoleHeld(on: boolean): void {
  held = on;
}

/** Console records below this severity are not captured (used by run-time level rules). */
export function setConsoleMinimumSeverity(severity: SeverityNumber): void {
  minimumSeverity = severity;
}
