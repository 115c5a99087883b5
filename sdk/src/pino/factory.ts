import {
  DISTLOG_TRANSPORT_TARGET,
  isDistlogDestination,
  markDistlogPinoActive,
  usesDistlogTransport,
} from '../internal/pino-integration';
import { coalesceWrites } from './coalesce';
import type { PinoFactory, PinoLogger, StreamWrite } from './adoption';
import { adopt, hookSharedPrototype, made, namingOfBindings, traced } from './adoption';
import { appendTraceContext, installTraceEnd } from './trace-context';
import { holdTransportStream, pinoStream } from './transport-streams';
import { DISTLOG_LEVEL } from '../mapper';

function combineHooks(hooks: { streamWrite?: StreamWrite } | undefined): { streamWrite: StreamWrite } {
  const user = hooks?.streamWrite;
  return { ...hooks, streamWrite: user ? (line) => appendTraceContext(user(line)) : appendTraceContext };
}

const wrapped = new WeakMap<object, PinoFactory>();
const DISTLOG_TRANSPORT_STREAM = Symbol('distlog.transportStream');
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
    // A `formatters.level` (Google Cloud's `{ severity: 'ERROR' }`, ECS's `log.level`, or
    // any other) renames or drops pino's `level`: the worker gets the call's level number
    // beside what it wrote (the in-process destination reads it from pino's metadata).
    if (ownWorker) withLevelNumber(patched);
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

type LevelFormatter = (label: string, number: number) => Record<string, unknown>;

function withLevelNumber(options: Record<string, unknown>): void {
  const formatters = options.formatters as { level?: unknown } | undefined;
  const level = formatters?.level;
  if (typeof level !== 'function') return;
  options.formatters = {
    ...formatters,
    level: (label: string, number: number) => ({
      ...(level as LevelFormatter)(label, number),
      [DISTLOG_LEVEL]: number,
    }),
  };
}

function onlyDistlogTransport(transport: unknown): boolean {
  const target = (transport as { target?: unknown } | undefined)?.target;
  return typeof target === 'string' && target.startsWith(DISTLOG_TRANSPORT_TARGET);
}
