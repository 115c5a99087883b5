import type { Context, Span } from '@opentelemetry/api';
import { context, createContextKey, trace, SpanStatusCode } from '@opentelemetry/api';
import type { LogAttributes } from '@opentelemetry/api-logs';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { distlogLoggerProvider } from './internal/logger-provider';
import { scopeTracer } from './tracing';
import { discard, holding } from './levels/hold';
import { exceptionAttributes } from './mapper';
import { currentDistlog, ensureDistlog } from './internal/instance';
import { directRecord } from './internal/direct-record';

/**
 * Scopes (in the spirit of Eliot's actions) on OpenTelemetry spans. A scope is a
 * child span of the current one; every record logged inside carries its trace and
 * span id and the scope's attributes (merged with its ancestors'). A scope writes a
 * start and an end record, so a request's tree can be rebuilt from logs alone:
 *
 *   event name         attributes
 *   distlog.scope.start  scope.name, scope.parent_span_id (absent at the root)
 *   distlog.scope.end    scope.name, scope.parent_span_id, scope.status (ok|error),
 *                        scope.duration_ms, exception.* on error
 */
export const SCOPE_START_EVENT = 'distlog.scope.start';
export const SCOPE_END_EVENT = 'distlog.scope.end';
export const SCOPE_LOGGER_NAME = 'distlog.scope';

const SCOPE_ATTRIBUTES_KEY = createContextKey('distlog.scope.attributes');
const TRACER_NAME = '@distlog/sdk';

export type ScopeAttributes = Record<string, string | number | boolean>;

/** The attributes of the scopes enclosing `ctx` (innermost wins). */
export function scopeAttributes(ctx: Context = context.active()): ScopeAttributes | undefined {
  return ctx.getValue(SCOPE_ATTRIBUTES_KEY) as ScopeAttributes | undefined;
}

export function scope<T>(name: string, fn: () => T): T;
export function scope<T>(name: string, attributes: ScopeAttributes, fn: () => T): T;
export function scope<T>(name: string, attributesOrFn: ScopeAttributes | (() => T), maybeFn?: () => T): T {
  const fn = typeof attributesOrFn === 'function' ? attributesOrFn : maybeFn!;
  const attributes = typeof attributesOrFn === 'function' ? {} : attributesOrFn;
  return runScope(name, attributes, context.active(), fn);
}

/** Runs `fn` in a new scope whose parent is `parent` (e.g. a context extracted from request headers). */
export function runScope<T>(name: string, attributes: ScopeAttributes, parent: Context, fn: () => T): T {
  const opened = openScope(name, attributes, parent);
  let result: T;
  try {
    result = context.with(opened.context, fn);
  } catch (err) {
    opened.end(err);
    throw err;
  }
  if (isPromiseLike(result)) {
    return result.then(
      (value) => {
        opened.end();
        return value;
      },
      (err: unknown) => {
        opened.end(err);
        throw err;
      },
    ) as T;
  }
  opened.end();
  return result;
}

/** @internal A scope opened by hand: the context to run in, and its end (the first call counts). */
export interface OpenScope {
  readonly context: Context;
  /** Ends the scope, failed when `error` is given; `ending` joins the end record's attributes. */
  end(error?: unknown, ending?: ScopeAttributes): void;
}

/**
 * @internal Opens a scope whose parent is `parent` and writes its start record; the caller
 * runs code in `context` and calls `end` once (an HTTP request's scope ends with its
 * response, http.ts). runScope is this around a function. `attributes` go on every record
 * logged inside, as a scope's do; `own` only on the scope's start and end records (and its span).
 */
export function openScope(
  name: string,
  attributes: ScopeAttributes,
  parent: Context,
  own?: ScopeAttributes,
): OpenScope {
  ensureDistlog();
  const parentSpan = trace.getSpan(parent);
  const parentSpanId = parentSpan?.spanContext().spanId;
  const span = scopeTracer(TRACER_NAME).startSpan(
    name,
    { attributes: own ? Object.assign({}, attributes, own) : attributes },
    parent,
  );
  const inherited = scopeAttributes(parent);
  // A root scope (no scope of this process above it) ends its trace's part here: what an
  // onError rule holds for the trace is dropped if it ends well (levels/hold.ts).
  const root = inherited === undefined;
  // Object.assign, not spread: spreading two objects costs ~1 µs on Node 20 (0.08 µs this way).
  const ctx = trace
    .setSpan(parent, span)
    .setValue(SCOPE_ATTRIBUTES_KEY, Object.assign({}, inherited, attributes));
  const started = performance.now();

  const startAttributes: LogAttributes = Object.assign({}, own, { 'scope.name': name });
  if (parentSpanId && trace.isSpanContextValid(parentSpan!.spanContext()))
    startAttributes['scope.parent_span_id'] = parentSpanId;
  emitScopeRecord(ctx, SCOPE_START_EVENT, SeverityNumber.INFO, `${name} started`, startAttributes);
  let ended = false;
  return {
    context: ctx,
    end(error?: unknown, ending?: ScopeAttributes) {
      if (ended) return;
      ended = true;
      finishScope(ctx, span, name, parentSpan, started, error, own ? Object.assign({}, own, ending) : ending);
      // (an error's end record, ERROR, already released the hold as it was queued)
      if (root && error === undefined && holding()) discard(span.spanContext().traceId);
    },
  };
}

function finishScope(
  ctx: Context,
  span: Span,
  name: string,
  parentSpan: Span | undefined,
  started: number,
  error?: unknown,
  ending?: ScopeAttributes,
): void {
  const durationMs = Math.round((performance.now() - started) * 1000) / 1000;
  if (ending) span.setAttributes(ending);
  const attributes: LogAttributes = Object.assign({}, ending, {
    'scope.name': name,
    'scope.status': error === undefined ? 'ok' : 'error',
    'scope.duration_ms': durationMs,
  });
  const parentContext = parentSpan?.spanContext();
  if (parentContext && trace.isSpanContextValid(parentContext))
    attributes['scope.parent_span_id'] = parentContext.spanId;
  if (error !== undefined) {
    Object.assign(
      attributes,
      exceptionAttributes(
        error instanceof Error ? { type: error.name, message: error.message, stack: error.stack } : error,
      ),
    );
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({
      code: SpanStatusCode.ERROR,
      message: error instanceof Error ? error.message : String(error),
    });
  } else {
    span.setStatus({ code: SpanStatusCode.OK });
  }
  emitScopeRecord(
    ctx,
    SCOPE_END_EVENT,
    error === undefined ? SeverityNumber.INFO : SeverityNumber.ERROR,
    `${name} ${error === undefined ? 'finished' : 'failed'} in ${durationMs} ms`,
    attributes,
  );
  span.end();
}

const SCOPE_REF = { name: SCOPE_LOGGER_NAME };

function emitScopeRecord(
  ctx: Context,
  eventName: string,
  severityNumber: SeverityNumber,
  body: string,
  attributes: LogAttributes,
): void {
  const inherited = scopeAttributes(ctx);
  const record = {
    eventName,
    severityNumber,
    severityText: SeverityNumber[severityNumber],
    body,
    attributes: inherited ? Object.assign({}, inherited, attributes) : attributes,
  };
  // Straight into Distlog's export queue, as pino lines go (direct-record.ts: a tenth of
  // the OTel Logger's cost; every HTTP request writes two of these, http.ts).
  const distlog = currentDistlog();
  if (distlog) {
    distlog.processor.enqueue(
      directRecord(record, trace.getSpanContext(ctx), distlog.resource, SCOPE_REF, Date.now()),
    );
    return;
  }
  distlogLoggerProvider()
    .getLogger(SCOPE_LOGGER_NAME)
    .emit({ ...record, context: ctx });
}

/** @internal */
export function isPromiseLike<T>(value: T): value is T & PromiseLike<unknown> {
  return typeof (value as { then?: unknown })?.then === 'function';
}
