import type { SpanContext } from '@opentelemetry/api';
import { context as otelContext, isSpanContextValid, trace } from '@opentelemetry/api';
import type { Logger, LoggerProvider } from '@opentelemetry/api-logs';
import { distlogLoggerProvider } from '../internal/logger-provider';
import type { MapperOptions, PinoMapping } from '../mapper';
import { mapPinoLine } from '../mapper';
import { DEFAULT_LOGGER_NAME } from './logger-name';
import { scopeAttributes } from '../scope';
import type { Distlog } from '../init';
import { getDistlog } from '../init';
import type { ScopeRef } from '../internal/direct-record';
import { directRecord } from '../internal/direct-record';

/** Logger names remembered at most (their scope objects); past it they are made again. */
const MAX_NAMES = 10_000;

export interface EmitterOptions extends MapperOptions {
  /** Where records go. Default: the instance init() created (fast path), else the global provider. */
  loggerProvider?: LoggerProvider;
  /** Scope name for lines that name no logger. Default `pino`. */
  defaultScopeName?: string;
  /** @internal The instance to feed directly (the transport's own). */
  distlog?: Distlog;
}

/**
 * One parsed pino line → one OTel record. Trace context: the ids written into the line
 * in the app's thread when present (transport), else the caller's active context
 * (in-process destination), whose scope attributes are added too.
 */
export function createPinoEmitter(
  options: EmitterOptions = {},
): (line: Record<string, unknown>, knownLevel?: number) => void {
  const defaultScope = options.defaultScopeName ?? DEFAULT_LOGGER_NAME;
  const loggers = new Map<string, Logger>();
  const scopes = new Map<string, ScopeRef>();
  let lastSpan: SpanContext | undefined;
  /** The last valid span context taken from the caller's active context. */
  let lastActive: SpanContext | undefined;
  // Sticky trace context (transport streams only): what the last marked line set.
  let sticky: PinoMapping['traceContext'];

  const spanFromLine = (tc: {
    traceId: string;
    spanId: string;
    traceFlags: number;
  }): SpanContext | undefined => {
    // Consecutive lines mostly come from the same span: reuse its object.
    if (lastSpan && lastSpan.spanId === tc.spanId && lastSpan.traceId === tc.traceId) return lastSpan;
    const sc: SpanContext = {
      traceId: tc.traceId,
      spanId: tc.spanId,
      traceFlags: tc.traceFlags,
      isRemote: true,
    };
    if (!isSpanContextValid(sc)) return undefined;
    lastSpan = sc;
    return sc;
  };

  return (line, knownLevel) => {
    const mapping = mapPinoLine(line, options, knownLevel);
    const { scopeName, record, contextMarker } = mapping;
    let { traceContext } = mapping;
    if (contextMarker === 1) sticky = traceContext;
    else if (contextMarker === 0) sticky = undefined;
    else if (!traceContext) traceContext = sticky;
    const name = scopeName || defaultScope;
    const distlog = options.loggerProvider ? undefined : (options.distlog ?? getDistlog());
    if (distlog) {
      let spanContext: SpanContext | undefined;
      if (traceContext) spanContext = spanFromLine(traceContext);
      else {
        const active = otelContext.active();
        const sc = trace.getSpanContext(active);
        // Consecutive lines mostly come from one span: its validity is checked once.
        if (sc && (sc === lastActive || isSpanContextValid(sc))) spanContext = lastActive = sc;
        const inherited = scopeAttributes(active);
        if (inherited) record.attributes = Object.assign({}, inherited, record.attributes);
      }
      let scope = scopes.get(name);
      if (!scope) {
        // Names made per request (a child named by a request id) would fill it for good.
        if (scopes.size >= MAX_NAMES) scopes.clear();
        scopes.set(name, (scope = { name }));
      }
      distlog.processor.enqueue(directRecord(record, spanContext, distlog.resource, scope, Date.now()));
      return;
    }
    let logger = loggers.get(name);
    if (!logger) {
      logger = (options.loggerProvider ?? distlogLoggerProvider()).getLogger(name);
      if (loggers.size >= MAX_NAMES) loggers.clear();
      loggers.set(name, logger);
    }
    if (traceContext) {
      const sc = spanFromLine(traceContext);
      logger.emit({ ...record, context: sc ? trace.setSpanContext(otelContext.active(), sc) : undefined });
      return;
    }
    const active = otelContext.active();
    const inherited = scopeAttributes(active);
    if (inherited) record.attributes = Object.assign({}, inherited, record.attributes);
    logger.emit({ ...record, context: active });
  };
}
