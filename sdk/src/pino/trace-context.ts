import Module from 'node:module';
import { trace, isSpanContextValid } from '@opentelemetry/api';
import { scopeAttributes } from '../scope';
import { markDistlogPinoActive, usesDistlogTransport } from '../internal/pino-integration';
import { trackLogger } from '../levels';

type StreamWrite = (line: string) => string;
type PinoFactory = ((...args: unknown[]) => unknown) & Record<string | symbol, unknown>;

/**
 * Trace context for pino lines, written in the app's thread — which is what lets the
 * transport, in its worker thread, put each record into the right trace. Fields are
 * `trace_id`, `span_id`, `trace_flags` (the names pino-opentelemetry-transport and
 * OTel's log correlation use) plus the enclosing scopes' attributes.
 */
export function traceMixin(): object {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const sc = span.spanContext();
  if (!isSpanContextValid(sc)) return {};
  return { ...scopeAttributes(), trace_id: sc.traceId, span_id: sc.spanId, trace_flags: sc.traceFlags };
}

// The JSON text appended to lines logged under one span, built once per span.
const suffixes = new WeakMap<object, string>();

/**
 * The patched factory adds trace context through pino's `streamWrite` hook rather than
 * a mixin: pino merges a mixin's result field by field into every log object
 * (measured ~1 µs a call here), while appending a per-span cached JSON fragment to the
 * finished line costs one string concatenation.
 */
export function appendTraceContext(line: string): string {
  const span = trace.getActiveSpan();
  if (!span) return line;
  let suffix = suffixes.get(span);
  if (suffix === undefined) {
    const sc = span.spanContext();
    if (!isSpanContextValid(sc)) suffix = '';
    else {
      const fields = JSON.stringify({
        ...scopeAttributes(),
        trace_id: sc.traceId,
        span_id: sc.spanId,
        trace_flags: sc.traceFlags,
      });
      // Replaces the line's closing `}\n`.
      suffix = ',' + fields.slice(1) + '\n';
    }
    suffixes.set(span, suffix);
  }
  if (suffix === '') return line;
  // pino ends every line with `}\n` (or `}\r\n` with crlf: true, handled the slow way).
  if (line.charCodeAt(line.length - 2) === 125 /* } */) return line.slice(0, -2) + suffix;
  const end = line.lastIndexOf('}');
  return end < 0 ? line : line.slice(0, end) + suffix.slice(0, -2) + line.slice(end);
}

function combineHooks(hooks: { streamWrite?: StreamWrite } | undefined): { streamWrite: StreamWrite } {
  const user = hooks?.streamWrite;
  return { ...hooks, streamWrite: user ? (line) => appendTraceContext(user(line)) : appendTraceContext };
}

const wrapped = new WeakMap<object, PinoFactory>();
/** Loggers created with a `transport`, so their worker can be flushed before a signal ends the process. */
const transportLoggers = new Set<WeakRef<object>>();
const ORIGINAL = Symbol.for('distlog.pino.original');

/** pino's factory with trace context added to every line of every logger it creates. */
export function withTraceContext(pino: PinoFactory): PinoFactory {
  if (pino[ORIGINAL]) return pino;
  const existing = wrapped.get(pino);
  if (existing) return existing;
  const factory = function distlogPino(this: unknown, ...args: unknown[]) {
    const [first, ...rest] = args;
    const isStream = typeof (first as { write?: unknown })?.write === 'function';
    const options =
      first === undefined || isStream ? {} : (first as { hooks?: { streamWrite?: StreamWrite } });
    const patched = { ...options, hooks: combineHooks(options.hooks) };
    const logger = isStream ? pino(patched, first, ...rest) : pino(patched, ...rest);
    const transport = (options as { transport?: unknown }).transport;
    if (transport && logger) transportLoggers.add(new WeakRef(logger as object));
    if (usesDistlogTransport(transport)) markDistlogPinoActive();
    if (logger) trackLogger(logger as never, (options as { name?: string }).name ?? 'pino');
    return logger;
  } as unknown as PinoFactory;
  Object.assign(factory, pino);
  factory.default = factory;
  factory.pino = factory;
  factory[ORIGINAL] = pino;
  wrapped.set(pino, factory);
  return factory;
}

let hooked = false;

/**
 * Makes every later `require('pino')` return the factory that adds trace context, and
 * patches an already-loaded pino in the require cache. Apps that imported pino before
 * this ran keep their unpatched reference: load the SDK first (`node -r
 * @distlog/sdk/register app.js`, or call init() before creating loggers).
 */
export function hookPino(): void {
  if (hooked) return;
  hooked = true;
  const mod = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
  const originalLoad = mod._load;
  mod._load = function (this: unknown, request: string, ...rest: unknown[]) {
    const exports = originalLoad.call(this, request, ...rest);
    return request === 'pino' && typeof exports === 'function'
      ? withTraceContext(exports as PinoFactory)
      : exports;
  };
  for (const [file, cached] of Object.entries(require.cache)) {
    if (
      cached &&
      /[\\/]node_modules[\\/]pino[\\/]pino\.js$/.test(file) &&
      typeof cached.exports === 'function'
    ) {
      cached.exports = withTraceContext(cached.exports as PinoFactory);
    }
  }
}

/**
 * Ends the transports of loggers created through the patched factory and waits (at
 * most `timeoutMs`) for their workers to close, which flushes their exporters. pino
 * does this by itself at a normal exit, not when a signal ends the process.
 */
export async function closePinoTransports(timeoutMs: number): Promise<void> {
  const closing: Promise<unknown>[] = [];
  for (const ref of transportLoggers) {
    const logger = ref.deref() as Record<symbol, unknown> | undefined;
    if (!logger) continue;
    const streamSym = Object.getOwnPropertySymbols(logger).find((s) => s.description === 'pino.stream');
    const stream =
      streamSym && (logger[streamSym] as { end?: () => void; once?: (e: string, f: () => void) => void });
    if (!stream?.end || !stream.once) continue;
    closing.push(new Promise<void>((resolve) => stream.once!('close', resolve)));
    stream.end();
  }
  transportLoggers.clear();
  if (closing.length === 0) return;
  await Promise.race([Promise.all(closing), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
}
