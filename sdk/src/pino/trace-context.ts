import Module from 'node:module';
import { trace, isSpanContextValid, Span, SpanContext } from '@opentelemetry/api';
import { scopeAttributes } from '../scope';
import {
  DISTLOG_TRANSPORT_TARGET,
  isDistlogDestination,
  markDistlogPinoActive,
  usesDistlogTransport,
} from '../internal/pino-integration';
import { trackLogger } from '../levels';
import { coalesceWrites, CoalescableStream } from './coalesce';

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

interface SpanSuffix {
  /** `,"trace_id":…,"span_id":…,"trace_flags":…}` + newline, or '' when the span's context is invalid. */
  plain: string;
  /** The same with `"distlog_ctx":1` (sticky context), or with scope attributes: always `plain`. */
  sticky: string;
  /** No scope attributes: later lines under this span may leave the context out. */
  stickable: boolean;
}

const INVALID: SpanSuffix = { plain: '', sticky: '', stickable: false };

// The JSON text that closes lines logged under one span, built when a span logs its
// first line and kept for the few spans that logged last (interleaved requests). A
// WeakMap entry per span measured ~250 ns a span here (a new span per request); a
// pointer scan of 8 slots costs a few.
const CACHE_SLOTS = 8;
const cachedSpans: Array<Span | undefined> = new Array<Span | undefined>(CACHE_SLOTS).fill(undefined);
const cachedSuffixes: SpanSuffix[] = new Array<SpanSuffix>(CACHE_SLOTS).fill(INVALID);
let nextSlot = 0;

function spanSuffixes(span: Span): SpanSuffix {
  for (let i = 0; i < CACHE_SLOTS; i++) if (cachedSpans[i] === span) return cachedSuffixes[i];
  const entry = buildSuffixes(span.spanContext());
  cachedSpans[nextSlot] = span;
  cachedSuffixes[nextSlot] = entry;
  nextSlot = (nextSlot + 1) % CACHE_SLOTS;
  return entry;
}

/** Once per span (a new one per request in a server): plain concatenation, ids are checked hex. */
function buildSuffixes(sc: SpanContext): SpanSuffix {
  if (!isSpanContextValid(sc)) return INVALID;
  // Each replaces the line's closing `}\n`.
  const ids = `"trace_id":"${sc.traceId}","span_id":"${sc.spanId}","trace_flags":${sc.traceFlags | 0}`;
  const attributes = scopeAttributes();
  let stickable = true;
  let fields = '';
  if (attributes) {
    for (const key in attributes) {
      if (key === 'trace_id' || key === 'span_id' || key === 'trace_flags') continue;
      const value = JSON.stringify(attributes[key]);
      if (value === undefined) continue;
      fields += `,${JSON.stringify(key)}:${value}`;
      stickable = false;
    }
  }
  const plain = `${fields},${ids}}\n`;
  return { plain, sticky: stickable ? `,${ids},"distlog_ctx":1}\n` : plain, stickable };
}

function spanSuffix(span: Span): string {
  return spanSuffixes(span).plain;
}

/** Closes a line whose context is "none" after lines that had one (sticky context). */
const CLEAR_CONTEXT = ',"distlog_ctx":0}\n';

/**
 * Fallback for a pino without the end-of-line property used below: adds the trace
 * context to each finished line through pino's `streamWrite` hook (a slice and a
 * concatenation per line, which costs an extra copy of the line).
 */
export function appendTraceContext(line: string): string {
  const span = trace.getActiveSpan();
  if (!span) return line;
  const suffix = spanSuffix(span);
  if (suffix === '') return line;
  // pino ends every line with `}\n` (or `}\r\n` with crlf: true, handled the slow way).
  if (line.charCodeAt(line.length - 2) === 125 /* } */) return line.slice(0, -2) + suffix;
  const end = line.lastIndexOf('}');
  return end < 0 ? line : line.slice(0, end) + suffix.slice(0, -2) + line.slice(end);
}

/**
 * The fast way: pino builds each line as `…fields + this[pino.end]`, reading the
 * logger's end-of-line property (`}` + newline) at every call. Made a getter that
 * returns the active span's cached suffix, the trace context is part of the line as
 * pino builds it — no mixin merge (~1 µs a call measured here), no second copy of the
 * line. Children inherit the getter (pino makes them with Object.create).
 * Returns false when this pino has no such property; then the hook above is used.
 */
export function installTraceEnd(logger: object, stickyStream?: object): boolean {
  const symbol = Object.getOwnPropertySymbols(logger).find((s) => s.description === 'pino.end');
  if (!symbol) return false;
  let plain = (logger as Record<symbol, unknown>)[symbol];
  if (typeof plain !== 'string') return false;
  const crlf = plain === '}\r\n';
  const eol = (suffix: string) => (crlf ? suffix.slice(0, -1) + '\r\n' : suffix);
  // Sticky context, for a stream that only Distlog's transport reads, in order: a line
  // under the same span as the line before carries no ids — the worker keeps them
  // (`distlog_ctx` marks changes). Lines of spans with scope attributes always carry
  // everything. "The line before" is the stream's: the state belongs to the stream,
  // which several loggers may share (`pino(pino.transport(…))` twice with one stream).
  const sticky = stickyStream !== undefined;
  const state = sticky ? stickyState(stickyStream) : { last: '', lastStickySpan: undefined };
  Object.defineProperty(logger, symbol, {
    configurable: true,
    enumerable: true,
    get() {
      const span = trace.getActiveSpan();
      if (span !== undefined && span === state.lastStickySpan) return plain;
      if (!sticky) {
        const suffix = span ? spanSuffix(span) : '';
        return suffix === '' ? plain : eol(suffix);
      }
      const entry = span ? spanSuffixes(span) : undefined;
      const suffix = entry?.sticky ?? '';
      if (suffix === state.last && (suffix === '' || entry!.stickable)) {
        state.lastStickySpan = suffix === '' ? undefined : span;
        return plain;
      }
      const previous = state.last;
      state.last = entry?.stickable ? suffix : '';
      state.lastStickySpan = entry?.stickable ? span : undefined;
      if (suffix === '') return previous === '' ? plain : eol(CLEAR_CONTEXT);
      // A span with scope attributes after a sticky one: its own ids, and the worker forgets the old.
      if (!entry!.stickable && previous !== '') return eol(suffix.slice(0, -2) + CLEAR_CONTEXT);
      return eol(suffix);
    },
    set(value: unknown) {
      plain = value;
    },
  });
  return true;
}

interface StickyState {
  /** The sticky suffix of the stream's previous line ('' when it had no context). */
  last: string;
  /** The span of the previous line when it was sticky: the same span again is a pointer compare. */
  lastStickySpan: Span | undefined;
}

const stickyStates = new WeakMap<object, StickyState>();

function stickyState(stream: object): StickyState {
  let state = stickyStates.get(stream);
  if (!state) stickyStates.set(stream, (state = { last: '', lastStickySpan: undefined }));
  return state;
}

function combineHooks(hooks: { streamWrite?: StreamWrite } | undefined): { streamWrite: StreamWrite } {
  const user = hooks?.streamWrite;
  return { ...hooks, streamWrite: user ? (line) => appendTraceContext(user(line)) : appendTraceContext };
}

const wrapped = new WeakMap<object, PinoFactory>();
const DISTLOG_TRANSPORT_STREAM = Symbol('distlog.transportStream');
/** Loggers created with a `transport`, so their worker can be flushed before a signal ends the process. */
const transportLoggers = new Set<WeakRef<object>>();
const ORIGINAL = Symbol.for('distlog.pino.original');

/** pino's factory with trace context added to every line of every logger it creates. */
export function withTraceContext(pino: PinoFactory): PinoFactory {
  if (pino[ORIGINAL]) return pino;
  const existing = wrapped.get(pino);
  if (existing) return existing;
  // Probed once per pino: does its logger have the end-of-line property installTraceEnd needs?
  let fastEnd = false;
  try {
    fastEnd = installTraceEnd(pino({}, { write: () => undefined }) as object);
  } catch {
    fastEnd = false;
  }
  const factory = function distlogPino(this: unknown, ...args: unknown[]) {
    const [first, ...rest] = args;
    const isStream = typeof (first as { write?: unknown })?.write === 'function';
    const options =
      first === undefined || isStream ? {} : (first as { hooks?: { streamWrite?: StreamWrite } });
    const transport = (options as { transport?: unknown }).transport;
    const stream = isStream ? first : rest[0];
    // Distlog's in-process destination reads the caller's context itself (pino writes to
    // it inside the log call): its lines need no ids for it to parse back.
    const direct = isDistlogDestination(stream);
    // Only Distlog's worker reads this logger's lines: `transport` options naming it, or a
    // stream made by `pino.transport({ target: '@distlog/sdk/pino' })` (see below).
    const explicit = (stream as Record<symbol, unknown> | undefined)?.[DISTLOG_TRANSPORT_STREAM];
    const ownWorker = onlyDistlogTransport(transport) || explicit !== undefined;
    // A trace-context hook is added only for a pino whose end-of-line property is unknown.
    const patched: Record<string, unknown> =
      fastEnd || direct ? { ...options } : { ...options, hooks: combineHooks(options.hooks) };
    // Lines that go only to Distlog need no pid and hostname: the record's resource has
    // them (process.pid, host.name). ~30 bytes less for pino to write, the ring buffer to
    // copy and the worker to parse. A `base` the app set is kept.
    if ((direct || ownWorker) && !('base' in (options as object))) patched.base = {};
    const logger = isStream ? pino(patched, first, ...rest) : pino(patched, ...rest);
    // The worker's stream: sticky context is kept per stream, and its writes are gathered.
    const own = logger && ownWorker ? pinoStream(logger as object) : undefined;
    if (fastEnd && logger && !direct) installTraceEnd(logger as object, own);
    const sync = explicit === 'sync' || (transport as { sync?: unknown } | undefined)?.sync;
    if (own && !sync && typeof own.write === 'function') coalesceWrites(own);
    if ((transport || explicit) && logger) transportLoggers.add(new WeakRef(logger as object));
    if (usesDistlogTransport(transport) || explicit) markDistlogPinoActive();
    if (logger) trackLogger(logger as never, (options as { name?: string }).name ?? 'pino');
    return logger;
  } as unknown as PinoFactory;
  Object.assign(factory, pino);
  // `pino.transport({ target: '@distlog/sdk/pino' })` then `pino(stream)`: the stream is
  // marked, so that a logger made with it is treated as one made with `transport` options.
  const transportFactory = pino.transport;
  if (typeof transportFactory === 'function')
    factory.transport = function distlogTransportFactory(this: unknown, ...args: unknown[]) {
      const made = (transportFactory as (...a: unknown[]) => unknown).apply(this, args);
      const opts = args[0] as { sync?: unknown } | undefined;
      if (made && typeof made === 'object' && onlyDistlogTransport(opts))
        (made as Record<symbol, unknown>)[DISTLOG_TRANSPORT_STREAM] = opts?.sync ? 'sync' : 'async';
      return made;
    };
  factory.default = factory;
  factory.pino = factory;
  factory[ORIGINAL] = pino;
  wrapped.set(pino, factory);
  return factory;
}

let hooked = false;
const PINO_FILE = /[\\/]node_modules[\\/]pino[\\/]pino\.js$/;

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
    if (request === 'pino' && typeof exports === 'function') return withTraceContext(exports as PinoFactory);
    return exports;
  };
  // An ES module's `import pino from 'pino'` takes pino's `module.exports` as soon as
  // its file has run, before `_load` returns: swap the exports right after compiling.
  const proto = Module.prototype as unknown as {
    _compile: (this: { filename: string; exports: unknown }, ...args: unknown[]) => unknown;
  };
  const originalCompile = proto._compile;
  proto._compile = function (this: { filename: string; exports: unknown }, ...args: unknown[]) {
    const result = originalCompile.apply(this, args);
    if (PINO_FILE.test(this.filename) && typeof this.exports === 'function')
      this.exports = withTraceContext(this.exports as PinoFactory);
    return result;
  };
  for (const [file, cached] of Object.entries(require.cache)) {
    if (cached && PINO_FILE.test(file) && typeof cached.exports === 'function') {
      cached.exports = withTraceContext(cached.exports as PinoFactory);
    }
  }
}

/**
 * Ends the transports of loggers created through the patched factory; resolves when
 * their workers have closed, which flushes their exporters (the caller bounds the
 * wait). pino does this by itself at a normal exit, not when a signal ends the process.
 */
export async function closePinoTransports(): Promise<void> {
  const closing: Promise<unknown>[] = [];
  for (const ref of transportLoggers) {
    const logger = ref.deref();
    const stream =
      logger && (pinoStream(logger) as { end?: () => void; once?: (e: string, f: () => void) => void });
    if (!stream?.end || !stream.once) continue;
    closing.push(new Promise<void>((resolve) => stream.once!('close', resolve)));
    stream.end();
  }
  transportLoggers.clear();
  await Promise.all(closing);
}

/** The stream a logger writes to (pino keeps it under its `pino.stream` symbol). */
function pinoStream(logger: object): CoalescableStream | undefined {
  const symbol = Object.getOwnPropertySymbols(logger).find((s) => s.description === 'pino.stream');
  return symbol ? ((logger as Record<symbol, unknown>)[symbol] as CoalescableStream | undefined) : undefined;
}

function onlyDistlogTransport(transport: unknown): boolean {
  const target = (transport as { target?: unknown } | undefined)?.target;
  return typeof target === 'string' && target.startsWith(DISTLOG_TRANSPORT_TARGET);
}
