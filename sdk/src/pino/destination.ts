import { context as otelContext, trace, ROOT_CONTEXT, diag } from '@opentelemetry/api';
import type { Logger, LoggerProvider } from '@opentelemetry/api-logs';
import { logs } from '@opentelemetry/api-logs';
import { mapPinoLine, MapperOptions } from '../mapper';

export interface DestinationOptions extends MapperOptions {
  /** Where records go. Default: the provider set up by init() (the global one). */
  loggerProvider?: LoggerProvider;
  /** Scope name for lines that name no logger. Default `pino`. */
  defaultScopeName?: string;
}

/**
 * An in-process pino destination: `pino(options, distlogDestination())`. pino calls
 * write() synchronously inside the log call, so the active OpenTelemetry context
 * (span) is the caller's and is attached to the record here, with no worker thread.
 */
export function distlogDestination(options: DestinationOptions = {}): { write(line: string): boolean } {
  const loggers = new Map<string, Logger>();
  const provider = () => options.loggerProvider ?? logs.getLoggerProvider();
  const defaultScope = options.defaultScopeName ?? 'pino';

  return {
    write(line: string): boolean {
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line);
      } catch (err) {
        diag.warn('distlog: pino line is not JSON, skipped', err);
        return true;
      }
      const { scopeName, record, traceContext } = mapPinoLine(parsed, options);
      const name = scopeName || defaultScope;
      let logger = loggers.get(name);
      if (!logger) {
        logger = provider().getLogger(name);
        loggers.set(name, logger);
      }
      const context = traceContext
        ? trace.setSpanContext(ROOT_CONTEXT, { ...traceContext, isRemote: true })
        : otelContext.active();
      logger.emit({ ...record, context });
      return true;
    },
  };
}
