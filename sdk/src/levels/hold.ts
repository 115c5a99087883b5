import { context, isSpanContextValid, trace } from '@opentelemetry/api';

/**
 * Fingers-crossed DEBUG (level rules with `onError`): the DEBUG/TRACE records of the
 * matching loggers are generated but held here, per trace, as closures that send them;
 * when that trace fails in this process — an ERROR/FATAL record logged in it, or its root
 * scope ending with an error — they are sent, in order, with their original times and the
 * attribute `distlog.held`; when its root scope ends without an error they are dropped.
 * Each process decides for its own part of a trace from what it sees: a failed downstream
 * call that the caller logs as an error releases the caller's hold.
 *
 * Bounded: at most DISTLOG_HOLD_MAX_PER_TRACE records a trace (default 1000) and
 * DISTLOG_HOLD_MAX in the process (default 10 000); beyond either the oldest go, counted.
 */
export const HELD_ATTRIBUTE = 'distlog.held';

const perTraceCap = positive(process.env.DISTLOG_HOLD_MAX_PER_TRACE, 1000);
const processCap = positive(process.env.DISTLOG_HOLD_MAX, 10_000);

/** Held sends by trace id, oldest trace first (Map order is insertion order). */
const traces = new Map<string, Array<() => void>>();
let total = 0;
const counts = { held: 0, released: 0, discarded: 0, dropped: 0 };

function positive(raw: string | undefined, fallback: number): number {
  const n = Number(raw);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

/** True while anything is held: the release checks on hot paths test this first. */
export function holding(): boolean {
  return total > 0;
}

/** The active trace's id, when there is a valid one. */
export function activeTraceId(): string | undefined {
  const sc = trace.getSpanContext(context.active());
  return sc && isSpanContextValid(sc) ? sc.traceId : undefined;
}

/**
 * Holds one send for a trace. Without a trace there is nothing to release it by: the
 * record is dropped (it would only have been sent if its request failed).
 */
export function hold(traceId: string | undefined, send: () => void): void {
  if (traceId === undefined) {
    counts.discarded++;
    return;
  }
  let held = traces.get(traceId);
  if (!held) traces.set(traceId, (held = []));
  held.push(send);
  total++;
  counts.held++;
  if (held.length > perTraceCap) {
    held.shift();
    total--;
    counts.dropped++;
  }
  while (total > processCap) {
    const [oldestTrace, oldest] = traces.entries().next().value as [string, Array<() => void>];
    oldest.shift();
    total--;
    counts.dropped++;
    if (oldest.length === 0) traces.delete(oldestTrace);
  }
}

/** The trace failed: send what it holds, in order. */
export function release(traceId: string): void {
  const held = take(traceId);
  if (!held) return;
  counts.released += held.length;
  for (const send of held) {
    try {
      send();
    } catch {
      // Never let logging break the app.
    }
  }
}

/** The trace ended well: what it holds is dropped. */
export function discard(traceId: string): void {
  const held = take(traceId);
  if (held) counts.discarded += held.length;
}

/** What `traceId` holds, no longer held. */
function take(traceId: string): Array<() => void> | undefined {
  const held = traces.get(traceId);
  if (!held) return undefined;
  traces.delete(traceId);
  total -= held.length;
  return held;
}

export function holdStats(): { holding: number; traces: number } & typeof counts {
  return { holding: total, traces: traces.size, ...counts };
}

/** Severity numbers of ERROR and above (OTel: ERROR = 17). */
export const RELEASING_SEVERITY = 17;
/** pino's level number of `error`. */
export const RELEASING_PINO_LEVEL = 50;

/**
 * A held pino logger: its `debug`/`trace` methods (pino sets them per logger when its
 * level is set, so a later level change puts pino's own back) hold the call instead of
 * making the line, and make it when released — in the context it was called in (the same
 * trace and span ids), with the time it was called at, marked `distlog.held`.
 */
export function holdPinoMethods(logger: Record<string | symbol, unknown>): void {
  const timeSymbol = symbolOf(logger, 'pino.time');
  for (const method of ['trace', 'debug'] as const) {
    const original = logger[method];
    if (
      typeof original !== 'function' ||
      (logger.isLevelEnabled as (l: string) => boolean)?.(method) === false
    )
      continue;
    logger[method] = function held(this: Record<string | symbol, unknown>, ...args: unknown[]) {
      const traceId = activeTraceId();
      if (traceId === undefined) {
        counts.discarded++;
        return;
      }
      const ctx = context.active();
      const time = timeSymbol ? (this[timeSymbol] as () => string)() : undefined;
      hold(traceId, () =>
        context.with(ctx, () => replay(this, original as Method, marked(args), timeSymbol, time)),
      );
    };
  }
}

type Method = (...args: unknown[]) => void;

function replay(
  logger: Record<string | symbol, unknown>,
  original: Method,
  args: unknown[],
  timeSymbol: symbol | undefined,
  time: string | undefined,
): void {
  if (!timeSymbol || time === undefined) return original.apply(logger, args);
  const own = Object.getOwnPropertyDescriptor(logger, timeSymbol);
  Object.defineProperty(logger, timeSymbol, { value: () => time, configurable: true, writable: true });
  try {
    original.apply(logger, args);
  } finally {
    if (own) Object.defineProperty(logger, timeSymbol, own);
    else delete logger[timeSymbol];
  }
}

/** pino's call shapes — (obj, msg, …), (err, msg, …), (msg, …) — with the held marker added. */
function marked(args: unknown[]): unknown[] {
  const [first, ...rest] = args;
  if (first instanceof Error)
    return [{ err: first, [HELD_ATTRIBUTE]: true }, ...(rest.length ? rest : [first.message])];
  if (typeof first === 'object' && first !== null) return [{ ...first, [HELD_ATTRIBUTE]: true }, ...rest];
  return [{ [HELD_ATTRIBUTE]: true }, ...args];
}

function symbolOf(object: object, description: string): symbol | undefined {
  for (let o: object | null = object; o; o = Object.getPrototypeOf(o) as object | null) {
    const found = Object.getOwnPropertySymbols(o).find((s) => s.description === description);
    if (found) return found;
  }
  return undefined;
}
