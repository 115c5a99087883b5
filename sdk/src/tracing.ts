import { context, propagation, trace, ProxyTracerProvider } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import type { Resource } from '@opentelemetry/resources';

/**
 * Scopes need spans with real ids, a context manager that follows async calls, and
 * the W3C propagators. An app that already runs the OpenTelemetry SDK has them: we
 * use its globals and register nothing. Otherwise we register a minimal tracer
 * provider (ids only — spans are not exported; scopes are recorded as log records).
 */
export function ensureTracing(resource: Resource): boolean {
  const global = trace.getTracerProvider();
  const delegate = global instanceof ProxyTracerProvider ? global.getDelegate() : global;
  const hasTracer = delegate.constructor.name !== 'NoopTracerProvider';
  if (!hasTracer) {
    trace.setGlobalTracerProvider(new BasicTracerProvider({ resource }));
  }
  // Each of these is a no-op (returns false) when the app registered its own.
  const contextManager = new AsyncLocalStorageContextManager();
  if (!context.setGlobalContextManager(contextManager.enable())) contextManager.disable();
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
  return !hasTracer;
}
