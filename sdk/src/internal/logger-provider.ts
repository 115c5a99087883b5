import type { LoggerProvider } from '@opentelemetry/api-logs';
import { logs } from '@opentelemetry/api-logs';

/**
 * The LoggerProvider Distlog's own records go through (console capture, scope records,
 * pino lines): the one init() made. It is also offered as the global logs provider, but
 * an app whose OpenTelemetry SDK registered its own provider first keeps it — and
 * Distlog's records must still reach Distlog's exporter, so they never look the global up.
 */
let own: LoggerProvider | undefined;

export function setDistlogLoggerProvider(provider: LoggerProvider | undefined): void {
  own = provider;
}

export function distlogLoggerProvider(): LoggerProvider {
  return own ?? logs.getLoggerProvider();
}
