import Module from 'node:module';
import {
  DISTLOG_TRANSPORT_TARGET,
  isDistlogDestination,
  markDistlogPinoActive,
  ONLY_TRANSPORT_EVENT,
  usesDistlogTransport,
} from '../internal/pino-integration';
import { trackLogger } from '../levels';
import { activeTraceId, holding, release, RELEASING_PINO_LEVEL } from '../levels/hold';
import type { CoalescableStream } from './coalesce';
import { COALESCED, coalesceWrites } from './coalesce';
import type { LoggerNaming } from './logger-name';
import { childNaming, loggerName } from './logger-name';
import { appendTraceContext, installTraceEnd } from './trace-context';

/**
 * How Distlog takes part in pino: every logger gets trace context in its lines, is
 * named by the one naming rule and is put under run-time level control — whether pino
 * was loaded before or after init(), and whether the app calls the factory Distlog
 * wrapped or the one it imported first.
 *
 * Two ways in, both set up once per copy of pino in the process:
 *  - the factory (`require('pino')` after init, or `-r/--import @distlog/sdk/register`):
 *    Distlog sees the options, so a logger whose only transport is Distlog's also gets
 *    the transport's fast path (sticky context, one write per turn, no pid/hostname);
 *  - the prototype every logger of that copy shares: `child()` and the level setter
 *    (which pino calls on every logger it makes) adopt loggers made with the factory the
 *    app imported before init() — ES modules' static imports always run first — and,
 *    where pino was already loaded at init(), the first line a logger made earlier
 *    writes adopts it. Those loggers get trace context and level control, not the
 *    transport's fast path (their options were never seen).
 */

type StreamWrite = (line: string) => string;
type PinoFactory = ((...args: unknown[]) => unknown) & Record<string | symbol, unknown>;
type PinoLogger = Record<string | symbol, unknown> & {
  level: string;
  bindings?: () => Record<string, unknown>;
};

/** Every logger Distlog has adopted, with the bindings that name it. */
const naming = new WeakMap<object, LoggerNaming>();
/** Loggers whose end-of-line property carries trace context (a root: its children inherit it). */
const traced = new WeakSet<object>();
/** Above 0 while pino makes a logger for a caller that adopts it itself: the prototype hooks stay out. */
let making = 0;

function made<T>(make: () => T): T {
  making++;
  try {
    return make();
  } finally {
    making--;
  }
}

function adopt(logger: object, named: LoggerNaming): void {
  naming.set(logger, named);
  trackLogger(logger as PinoLogger, loggerName(named));
}

function namingOfBindings(logger: PinoLogger): LoggerNaming {
  let bindings: Record<string, unknown> = {};
  try {
    bindings = typeof logger.bindings === 'function' ? logger.bindings() : {};
  } catch {
    // A logger whose bindings cannot be read is named like one without any.
  }
  return childNaming({}, bindings);
}

/** The object in a logger's prototype chain that holds the given own symbol (pino's root instance). */
function holderOf(logger: object, description: string): object | undefined {
  for (let o: object | null = logger; o; o = Object.getPrototypeOf(o) as object | null) {
    if (Object.getOwnPropertySymbols(o).some((s) => s.description === description)) return o;
  }
  return undefined;
}

let fallbackSaid = false;

/** A logger Distlog did not see being made: trace context through its root, level control, its name. */
function adoptExisting(logger: PinoLogger): LoggerNaming {
  const named = namingOfBindings(logger);
  const root = holderOf(logger, 'pino.end');
  if (root && !traced.has(root)) {
    traced.add(root);
    if (!installTraceEnd(root) && !fallbackSaid) {
      fallbackSaid = true;
      process.stderr.write(
        'distlog: this pino has no end-of-line property; loggers created before init() get no trace context. ' +
          'Load @distlog/sdk first (node -r @distlog/sdk/register) or update pino.\n',
      );
    }
  }
  if (root) {
    holdTransportStream(root);
    fastPathWhenOnlyDistlog(root);
  }
  adopt(logger, named);
  return named;
}

/**
 * A logger made by a pino Distlog did not wrap: its options were never seen, so whether its
 * stream is read by Distlog's transport alone is learnt from the transport itself, which
 * says so when it starts (pino/transport.ts). From then on the stream gets what a logger
 * made through the wrapped factory has from the start: sticky context, gathered writes.
 */
function fastPathWhenOnlyDistlog(root: object): void {
  const stream = pinoStream(root) as
    (CoalescableStream & { once?: (e: string, f: () => void) => void }) | undefined;
  if (
    !stream ||
    typeof stream.once !== 'function' ||
    (stream as unknown as Record<symbol, unknown>)[COALESCED]
  )
    return;
  stream.once(ONLY_TRANSPORT_EVENT, () => {
    installTraceEnd(root, stream);
    coalesceWrites(stream);
    markDistlogPinoActive();
  });
}

const hookedPrototypes = new WeakSet<object>();

/**
 * Hooks the prototype shared by every logger of one copy of pino, once: `child()`
 * names and adopts each child; the level setter adopts loggers made by a factory
 * Distlog did not wrap; with `firstWrite`, so does a logger's first line (for loggers
 * that existed before init()). A few ns per call, and only where pino was loaded first.
 */
function hookSharedPrototype(pino: PinoFactory, firstWrite: boolean): void {
  let probe: object | undefined;
  try {
    probe = made(() => pino({}, { write: () => undefined }) as object);
  } catch {
    return;
  }
  const shared = Object.getPrototypeOf(Object.getPrototypeOf(probe) as object) as Record<
    string | symbol,
    unknown
  > | null;
  if (!shared || hookedPrototypes.has(shared) || typeof shared.child !== 'function') return;
  hookedPrototypes.add(shared);
  const symbol = (description: string) =>
    Object.getOwnPropertySymbols(shared).find((s) => s.description === description);

  const child = shared.child as (this: PinoLogger, ...args: unknown[]) => PinoLogger;
  shared.child = function distlogChild(this: PinoLogger, bindings: unknown, ...rest: unknown[]) {
    const made_ = made(() => child.call(this, bindings, ...rest));
    if (made_ && typeof made_ === 'object')
      adopt(made_, childNaming(naming.get(this) ?? adoptExisting(this), bindings as Record<string, unknown>));
    return made_;
  };

  const setLevel = symbol('pino.setLevel');
  const originalSetLevel = setLevel && (shared[setLevel] as (this: PinoLogger, level: unknown) => unknown);
  if (setLevel && typeof originalSetLevel === 'function')
    shared[setLevel] = function distlogSetLevel(this: PinoLogger, level: unknown) {
      const result = originalSetLevel.call(this, level);
      if (making === 0 && !naming.has(this)) adoptExisting(this);
      return result;
    };

  const write = symbol('pino.write');
  const originalWrite = write && (shared[write] as (this: PinoLogger, ...args: unknown[]) => unknown);
  // Every line passes here (pino's write(obj, msg, level number)): with firstWrite the first
  // line of a logger made before init() adopts it; and an ERROR/FATAL line sends what its
  // trace holds (levels/hold.ts) before itself — one comparison while nothing is held.
  if (write && typeof originalWrite === 'function')
    shared[write] = function distlogWrite(this: PinoLogger, ...args: unknown[]) {
      if (firstWrite && !naming.has(this)) adoptExisting(this);
      if (holding() && (args[2] as number) >= RELEASING_PINO_LEVEL) {
        const traceId = activeTraceId();
        if (traceId) release(traceId);
      }
      return originalWrite.apply(this, args);
    };
}

function combineHooks(hooks: { streamWrite?: StreamWrite } | undefined): { streamWrite: StreamWrite } {
  const user = hooks?.streamWrite;
  return { ...hooks, streamWrite: user ? (line) => appendTraceContext(user(line)) : appendTraceContext };
}

const wrapped = new WeakMap<object, PinoFactory>();
const DISTLOG_TRANSPORT_STREAM = Symbol('distlog.transportStream');
type TransportStream = CoalescableStream & { end: () => void; once: (e: string, f: () => void) => void };

/**
 * The worker streams of the loggers Distlog adopted, held until they close. pino ends
 * a transport at exit only while its stream is alive (its exit hook holds it weakly),
 * and thread-stream terminates the worker of a stream that is garbage-collected: a
 * logger made in a function that has returned could lose its last lines — those just
 * before the process exits — to a collection. Held here, they are flushed at exit, and
 * closePinoTransports() can end them before a signal ends the process.
 */
const transportStreams = new Set<TransportStream>();

function holdTransportStream(logger: object): void {
  const stream = pinoStream(logger) as (Partial<TransportStream> & { worker?: unknown }) | undefined;
  if (!stream || transportStreams.has(stream as TransportStream)) return;
  if (!stream.worker || typeof stream.end !== 'function' || typeof stream.once !== 'function') return;
  transportStreams.add(stream as TransportStream);
  stream.once('close', () => transportStreams.delete(stream as TransportStream));
}
const ORIGINAL = Symbol.for('distlog.pino.original');

/** pino's factory with trace context added to every line of every logger it creates. */
export function withTraceContext(pino: PinoFactory, options: { firstWrite?: boolean } = {}): PinoFactory {
  if (pino[ORIGINAL]) return pino;
  const existing = wrapped.get(pino);
  if (existing) return existing;
  // Probed once per pino: does its logger have the end-of-line property installTraceEnd needs?
  let fastEnd = false;
  try {
    fastEnd = installTraceEnd(made(() => pino({}, { write: () => undefined }) as object));
  } catch {
    fastEnd = false;
  }
  hookSharedPrototype(pino, options.firstWrite === true);
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
    const logger = made(() => (isStream ? pino(patched, first, ...rest) : pino(patched, ...rest))) as
      PinoLogger | undefined;
    if (!logger) return logger;
    // The worker's stream: sticky context is kept per stream, and its writes are gathered.
    const own = ownWorker ? pinoStream(logger) : undefined;
    if (fastEnd && !direct) installTraceEnd(logger, own);
    traced.add(logger);
    const sync = explicit === 'sync' || (transport as { sync?: unknown } | undefined)?.sync;
    if (own && !sync && typeof own.write === 'function') coalesceWrites(own);
    holdTransportStream(logger);
    if (usesDistlogTransport(transport) || explicit) markDistlogPinoActive();
    adopt(logger, namingOfBindings(logger));
    return logger;
  } as unknown as PinoFactory;
  Object.assign(factory, pino);
  // `pino.transport({ target: '@distlog/sdk/pino' })` then `pino(stream)`: the stream is
  // marked, so that a logger made with it is treated as one made with `transport` options.
  const transportFactory = pino.transport;
  if (typeof transportFactory === 'function')
    factory.transport = function distlogTransportFactory(this: unknown, ...args: unknown[]) {
      const made_ = (transportFactory as (...a: unknown[]) => unknown).apply(this, args);
      const opts = args[0] as { sync?: unknown } | undefined;
      if (made_ && typeof made_ === 'object' && onlyDistlogTransport(opts))
        (made_ as Record<symbol, unknown>)[DISTLOG_TRANSPORT_STREAM] = opts?.sync ? 'sync' : 'async';
      return made_;
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
 * Makes every later `require('pino')` / `import pino from 'pino'` return the factory
 * that adds trace context, and hooks every copy of pino already loaded (an app that
 * imported pino before init()): see the top of this file for what its loggers get.
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
      // Loaded before init(): loggers may exist already, and the app may hold this factory.
      cached.exports = withTraceContext(cached.exports as PinoFactory, { firstWrite: true });
    }
  }
}

/**
 * Ends the transports of the loggers Distlog adopted; resolves when
 * their workers have closed, which flushes their exporters (the caller bounds the
 * wait). pino does this by itself at a normal exit, not when a signal ends the process.
 */
export async function closePinoTransports(): Promise<void> {
  const closing: Promise<unknown>[] = [];
  for (const stream of transportStreams) {
    closing.push(new Promise<void>((resolve) => stream.once('close', resolve)));
    stream.end();
  }
  transportStreams.clear();
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
