import { context as otelContext, trace, ROOT_CONTEXT } from '@opentelemetry/api';
import type { Logger, LoggerProvider } from '@opentelemetry/api-logs';
import { logs } from '@opentelemetry/api-logs';
import { mapPinoLine, MapperOptions } from '../mapper';
import { scopeAttributes } from '../scope';

export interface EmitterOptions extends MapperOptions {
  /** Where records go. Default: the global provider (the one init() set up). */
  loggerProvider?: LoggerProvider;
  /** Scope name for lines that name no logger. Default `pino`. */
  defaultScopeName?: string;
}

/**
 * One parsed pino line → one OTel record. Trace context: the ids the mixin wrote into
 * the line when present (transport), else the caller's active context (in-process).
 */
export function createPinoEmitter(options: EmitterOptions = {}): (line: Record<string, unknown>) => void {
  const loggers = new Map<string, Logger>();
  const defaultScope = options.defaultScopeName ?? 'pino';
  return (line) => {
    const { scopeName, record, traceContext } = mapPinoLine(line, options);
    const name = scopeName || defaultScope;
    let logger = loggers.get(name);
    if (!logger) {
      logger = (options.loggerProvider ?? logs.getLoggerProvider()).getLogger(name);
      loggers.set(name, logger);
    }
    if (traceContext) {
      logger.emit({
        ...record,
        context: trace.setSpanContext(ROOT_CONTEXT, { ...traceContext, isRemote: true }),
      });
      return;
    }
    const context = otelContext.active();
    const inherited = scopeAttributes(context);
    if (inherited) record.attributes = { ...inherited, ...record.attributes };
    logger.emit({ ...record, context });
  };
}
