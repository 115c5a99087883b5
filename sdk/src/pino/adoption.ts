import { markDistlogPinoActive, ONLY_TRANSPORT_EVENT } from '../internal/pino-integration';
import { trackLogger } from '../levels';
import { activeTraceId, holding, release, RELEASING_PINO_LEVEL } from '../levels/hold';
import type { CoalescableStream } from './coalesce';
import { COALESCED, coalesceWrites } from './coalesce';
import type { LoggerNaming } from './logger-name';
import { childNaming, loggerName } from './logger-name';
import { installTraceEnd } from './trace-context';
import { holdTransportStream, pinoStream } from './transport-streams';
import { holderOfPinoSymbol, ownPinoSymbol } from './symbols';

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

export type StreamWrite = (line: string) => string;
export type PinoFactory = ((...args: unknown[]) => unknown) & Record<string | symbol, unknown>;
export type PinoLogger = Record<string | symbol, unknown> & {
  level: string;
  bindings?: () => Record<string, unknown>;
};

/** Every logger Distlog has adopted, with the bindings that name it. */
const naming = new WeakMap<object, LoggerNaming>();
/** Loggers whose end-of-line property carries trace context (a root: its children inherit it). */
export const traced = new WeakSet<object>();
/** Above 0 while pino makes a logger for a caller that adopts it itself: the prototype hooks stay out. */
let making = 0;

export function made<T>(make: () => T): T {
  making++;
  try {
    return make();
  } finally {
    making--;
  }
}

export function adopt(logger: object, named: LoggerNaming): void {
  naming.set(logger, named);
  trackLogger(logger as PinoLogger, loggerName(named));
}

export function namingOfBindings(logger: PinoLogger): LoggerNaming {
  let bindings: Record<string, unknown> = {};
  try {
    bindings = typeof logger.bindings === 'function' ? logger.bindings() : {};
  } catch {
    // A logger whose bindings cannot be read is named like one without any.
  }
  return childNaming({}, bindings);
}

let fallbackSaid = false;

/** A logger Distlog did not see being made: trace context through its root, level control, its name. */
function adoptExisting(logger: PinoLogger): LoggerNaming {
  const named = namingOfBindings(logger);
  // pino's root instance: the object in the logger's prototype chain that holds its line end.
  const root = holderOfPinoSymbol(logger, 'pino.end');
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
export function hookSharedPrototype(pino: PinoFactory, firstWrite: boolean): void {
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
  const symbol = (description: string) => ownPinoSymbol(shared, description);

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
