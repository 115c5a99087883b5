import { randomFillSync } from 'node:crypto';
import type { Context, Span, SpanOptions, Tracer, TracerProvider } from '@opentelemetry/api';
import {
  context,
  propagation,
  trace,
  ProxyTracerProvider,
  TraceFlags,
  isSpanContextValid,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';

/**
 * Scopes need spans with real ids, a context manager that follows async calls, and the
 * W3C propagators.
 *
 * - Spans: when the app has a tracer provider (its own OpenTelemetry SDK), scopes are its
 *   spans — one trace, and the app's SDK exports them too. Without one, the API's tracer
 *   gets an ids-only delegate (non-recording spans with fresh ids: scopes are recorded as
 *   log records, not spans), set on the API's proxy *without registering it*: an app SDK
 *   started after init() still registers and its provider replaces the delegate (a
 *   tracer the app already used before keeps the ids-only one).
 * - The context manager and propagators are registered unless the app registered its
 *   own first; an app SDK started later finds Distlog's, which do the same thing (the
 *   AsyncLocalStorage manager; W3C trace context and baggage, the SDK's defaults).
 */
export function ensureTracing(): void {
  const provider = trace.getTracerProvider();
  if (provider instanceof ProxyTracerProvider && !appHasTracerProvider())
    provider.setDelegate(idTracerProvider);
  const contextManager = new AsyncLocalStorageContextManager();
  if (!context.setGlobalContextManager(contextManager.enable())) contextManager.disable();
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
}

/** True when a tracer provider other than the API's no-op one and Distlog's ids-only one is in place. */
export function appHasTracerProvider(): boolean {
  const global = trace.getTracerProvider();
  const delegate = global instanceof ProxyTracerProvider ? global.getDelegate() : global;
  return delegate !== idTracerProvider && delegate.constructor.name !== 'NoopTracerProvider';
}

/** The tracer scopes start their spans with: the app's when it has one, else the ids-only one. */
export function scopeTracer(name: string): Tracer {
  return appHasTracerProvider() ? trace.getTracer(name) : idTracer;
}

/**
 * Random ids from a pool: one randomFillSync for many ids. A randomBytes() call per id
 * cost more than the rest of a span (2 calls a span, ~2.5 µs each in the SDK bench).
 */
const POOL = Buffer.allocUnsafe(4096);
let poolAt = POOL.length;

function randomHex(bytes: number): string {
  if (poolAt + bytes > POOL.length) {
    randomFillSync(POOL);
    poolAt = 0;
  }
  const hex = POOL.toString('hex', poolAt, poolAt + bytes);
  poolAt += bytes;
  // All zeros is not a valid id (W3C trace context); 2^-64 at worst, but never hand one out.
  return /^0+$/.test(hex) ? randomHex(bytes) : hex;
}

function startSpan(_name: string, options: SpanOptions = {}, ctx: Context = context.active()): Span {
  const parent = options.root ? undefined : trace.getSpanContext(ctx);
  const traceId = parent && isSpanContextValid(parent) ? parent.traceId : randomHex(16);
  return trace.wrapSpanContext({
    traceId,
    spanId: randomHex(8),
    traceFlags: TraceFlags.SAMPLED,
  });
}

/** Makes ids only: spans that record nothing (a trace id from the parent, a new span id). */
const idTracer: Tracer = {
  startSpan,
  startActiveSpan(name: string, ...rest: unknown[]) {
    const fn = rest.pop() as (span: Span) => unknown;
    const [options, ctx] = rest as [SpanOptions | undefined, Context | undefined];
    const parentContext = ctx ?? context.active();
    const span = startSpan(name, options, parentContext);
    return context.with(trace.setSpan(parentContext, span), fn, undefined, span);
  },
} as Tracer;

const idTracerProvider: TracerProvider = { getTracer: () => idTracer };
