import Module from 'node:module';
import { trace, isSpanContextValid } from '@opentelemetry/api';
import { scopeAttributes } from '../scope';

type Mixin = (mergeObject: object, level: number, logger: unknown) => object;
type PinoFactory = ((...args: unknown[]) => unknown) & Record<string | symbol, unknown>;

const EMPTY = Object.freeze({});

/**
 * A pino mixin that writes the active span's ids (`trace_id`, `span_id`,
 * `trace_flags`, the names pino-opentelemetry-transport and OTel's log correlation
 * use) and the enclosing scopes' attributes into each line. It runs in the app's
 * thread, which is what lets the transport, in its worker thread, put the record
 * into the right trace. Returns a shared empty object outside any span (no allocation).
 */
export function traceMixin(): object {
  const span = trace.getActiveSpan();
  if (!span) return EMPTY;
  const sc = span.spanContext();
  if (!isSpanContextValid(sc)) return EMPTY;
  const fields: Record<string, unknown> = {
    trace_id: sc.traceId,
    span_id: sc.spanId,
    trace_flags: sc.traceFlags,
  };
  const attributes = scopeAttributes();
  return attributes ? { ...attributes, ...fields } : fields;
}

function combine(user: Mixin | undefined): Mixin {
  if (!user) return traceMixin;
  return (mergeObject, level, logger) => ({ ...traceMixin(), ...user(mergeObject, level, logger) });
}

const wrapped = new WeakMap<object, PinoFactory>();
/** Loggers created with a `transport`, so their worker can be flushed before a signal ends the process. */
const transportLoggers = new Set<WeakRef<object>>();
const ORIGINAL = Symbol.for('distlog.pino.original');

/** pino's factory with the trace mixin added to every logger it creates. */
export function withTraceMixin(pino: PinoFactory): PinoFactory {
  if (pino[ORIGINAL]) return pino;
  const existing = wrapped.get(pino);
  if (existing) return existing;
  const factory = function distlogPino(this: unknown, ...args: unknown[]) {
    const [first, ...rest] = args;
    const isStream = typeof (first as { write?: unknown })?.write === 'function';
    const options = first === undefined || isStream ? {} : (first as { mixin?: Mixin });
    const patched = { ...options, mixin: combine(options.mixin) };
    const logger = isStream ? pino(patched, first, ...rest) : pino(patched, ...rest);
    if ((options as { transport?: unknown }).transport && logger) transportLoggers.add(new WeakRef(logger as object));
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
 * Makes every later `require('pino')` return the factory with the trace mixin, and
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
      ? withTraceMixin(exports as PinoFactory)
      : exports;
  };
  for (const [file, cached] of Object.entries(require.cache)) {
    if (
      cached &&
      /[\\/]node_modules[\\/]pino[\\/]pino\.js$/.test(file) &&
      typeof cached.exports === 'function'
    ) {
      cached.exports = withTraceMixin(cached.exports as PinoFactory);
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
    const stream = streamSym && (logger[streamSym] as { end?: () => void; once?: (e: string, f: () => void) => void });
    if (!stream?.end || !stream.once) continue;
    closing.push(new Promise<void>((resolve) => stream.once!('close', resolve)));
    stream.end();
  }
  transportLoggers.clear();
  if (closing.length === 0) return;
  await Promise.race([Promise.all(closing), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
}
