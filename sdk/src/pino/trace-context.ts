import type { Span, SpanContext } from '@opentelemetry/api';
import { trace, isSpanContextValid } from '@opentelemetry/api';
import { scopeAttributes } from '../scope';
import { SCOPE_KEYS } from './parse-line';
import { ownPinoSymbol } from './symbols';

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
  let fields = '';
  const keys: string[] = [];
  if (attributes) {
    for (const key in attributes) {
      if (key === 'trace_id' || key === 'span_id' || key === 'trace_flags') continue;
      const value = JSON.stringify(attributes[key]);
      if (value === undefined) continue;
      fields += `,${JSON.stringify(key)}:${value}`;
      keys.push(key);
    }
  }
  // Listed first, so the worker can give the line's own value of a key precedence (parse-line.ts).
  if (keys.length > 0) fields = `,"${SCOPE_KEYS}":${JSON.stringify(keys)}${fields}`;
  const stickable = keys.length === 0;
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
  const symbol = ownPinoSymbol(logger, 'pino.end');
  if (!symbol) return false;
  // The line end pino gave this logger, also when a getter of ours is there already (the
  // fast path is installed again once a transport stream turns out to be Distlog's only).
  let plain = originalEnds.get(logger) ?? (logger as Record<symbol, unknown>)[symbol];
  if (typeof plain !== 'string') return false;
  originalEnds.set(logger, plain);
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
      if (typeof value === 'string') originalEnds.set(logger, value);
    },
  });
  return true;
}

const originalEnds = new WeakMap<object, string>();

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
