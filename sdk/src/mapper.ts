import type { LogAttributes, LogRecord } from '@opentelemetry/api-logs';
import { PINO_LEVELS, severityOfPinoLevel } from './internal/severity';
import { namingKey } from './pino/logger-name';

/**
 * The pure centre of the SDK: one parsed pino line → the fields of an OTel log
 * record. No I/O, no globals; both pino integrations (transport and in-process
 * destination) go through it, and it is tested on its own.
 */
export interface PinoMapping {
  /** Scope (logger) name by the one naming rule (pino/logger-name.ts); '' when the line names none. */
  scopeName: string;
  record: Omit<LogRecord, 'context'>;
  /** Trace context written into the line by the SDK's mixin (transport case). */
  traceContext?: { traceId: string; spanId: string; traceFlags: number };
  /**
   * `distlog_ctx` of the line (see pino/trace-context.ts, sticky context): 1 — this
   * line's trace context holds for the stream's next lines that carry none; 0 — from
   * here on they have none.
   */
  contextMarker?: 0 | 1;
}

export interface MapperOptions {
  /** Level number → label, for custom levels (pino's `customLevels`). */
  levelLabels?: Readonly<Record<number, string>>;
  /** The key of the message: pino's `messageKey` (default `msg`). */
  messageKey?: string;
  /** The key of a logged error: pino's `errorKey` (default `err`). */
  errorKey?: string;
}

/**
 * What pino (≥ 9) tells a logger's stream of the logger before its first line: its levels
 * (custom ones included), message key and error key — `{ code: 'PINO_CONFIG', config }`,
 * posted to a transport's worker, or `stream.emit('message', …)` on an in-process stream.
 */
export interface PinoLoggerConfig {
  levels?: { labels: Record<number, string> };
  messageKey?: string;
  errorKey?: string;
}

/** Keys that are not attributes: they become record fields, scope or resource (besides the message and error keys). */
const RESERVED = new Set([
  'level',
  'time',
  'pid',
  'hostname',
  'name',
  'trace_id',
  'span_id',
  'trace_flags',
  'distlog_ctx',
  'distlog_scope',
  'distlog_level',
]);

/**
 * The call's level number, written into lines for Distlog's transport when the logger's
 * `formatters.level` renames or drops pino's `level` (pino/factory.ts).
 */
export const DISTLOG_LEVEL = 'distlog_level';

const DEFAULT_LABELS: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(PINO_LEVELS).map(([label, n]) => [n, label]),
);

/**
 * Level names other loggers' conventions write instead of pino's `level` — Google Cloud's
 * `severity` (a pino `formatters.level` returning `{ severity: 'ERROR' }`), ECS's
 * `log.level` — and the pino level each stands for.
 */
const LEVEL_NAMES: Readonly<Record<string, number>> = {
  ...PINO_LEVELS,
  default: 30,
  notice: 30,
  warning: 40,
  critical: 60,
  alert: 60,
  emergency: 60,
};
/** A level's number by its name: pino's, the logger's custom label, or another convention's (LEVEL_NAMES); NaN if none. */
function levelByName(name: string, labels: Readonly<Record<number, string>>): number {
  const lower = name.toLowerCase();
  const pinos = PINO_LEVELS[lower];
  if (pinos !== undefined) return pinos;
  // The logger's own levels before other conventions' names (a custom `notice` is not Google Cloud's).
  for (const [n, label] of Object.entries(labels)) if (label.toLowerCase() === lower) return Number(n);
  return LEVEL_NAMES[lower] ?? NaN;
}

/** Where a line whose level formatter renamed `level` says its level (first found wins). */
const LEVEL_KEYS = ['severity', 'log.level'] as const;

/**
 * @param knownLevel the call's level number when the stream was told it (the in-process
 *   destination reads it from pino's metadata), whatever the line's level formatter wrote.
 */
export function mapPinoLine(
  line: Record<string, unknown>,
  options: MapperOptions = {},
  knownLevel?: number,
): PinoMapping {
  const labels = options.levelLabels ?? DEFAULT_LABELS;
  let levelNumber = NaN;
  let levelLabel: string | undefined;
  // The key that carried the level when a level formatter renamed it: not an attribute.
  let levelKey: string | undefined;
  const written = line[DISTLOG_LEVEL];
  if (typeof knownLevel === 'number') levelNumber = knownLevel;
  else if (typeof written === 'number') levelNumber = written;
  else if (typeof line.level === 'number') levelNumber = line.level;
  else if (typeof line.level === 'string') {
    levelLabel = line.level;
    levelNumber = levelByName(line.level, labels);
  }
  if (line.level === undefined)
    for (const key of LEVEL_KEYS) {
      const value = line[key];
      const named = typeof value === 'string' ? levelByName(value, labels) : NaN;
      if (!Number.isFinite(named)) continue;
      levelKey = key;
      if (Number.isNaN(levelNumber)) levelNumber = named;
      break;
    }
  if (Number.isNaN(levelNumber)) levelNumber = 30;
  levelLabel ??= labels[levelNumber] ?? DEFAULT_LABELS[levelNumber] ?? String(levelNumber);

  const scopeKey = namingKey(line);
  const scopeName = scopeKey ? (line[scopeKey] as string) : '';

  const messageKey = options.messageKey ?? 'msg';
  const errorKey = options.errorKey ?? 'err';
  const attributes: LogAttributes = {};
  for (const key in line) {
    if (RESERVED.has(key) || key === scopeKey || key === messageKey || key === errorKey || key === levelKey)
      continue;
    const value = line[key];
    if (value !== undefined) attributes[key] = value as LogAttributes[string];
  }
  const err = line[errorKey];
  if (err !== undefined && err !== null) Object.assign(attributes, exceptionAttributes(err));

  const msg = line[messageKey];
  const record: PinoMapping['record'] = {
    severityNumber: severityOfPinoLevel(levelNumber),
    severityText: levelLabel.toUpperCase(),
    body: typeof msg === 'string' ? msg : msg === undefined ? '' : String(msg),
    attributes,
  };
  if (typeof line.time === 'number') record.timestamp = millisOfPinoTime(line.time);
  else if (typeof line.time === 'string' && !Number.isNaN(Date.parse(line.time)))
    record.timestamp = new Date(line.time);

  const mapping: PinoMapping = { scopeName, record };
  if (line.distlog_ctx === 0 || line.distlog_ctx === 1) mapping.contextMarker = line.distlog_ctx;
  if (typeof line.trace_id === 'string' && typeof line.span_id === 'string') {
    mapping.traceContext = {
      traceId: line.trace_id,
      spanId: line.span_id,
      traceFlags:
        typeof line.trace_flags === 'number'
          ? line.trace_flags
          : parseInt(String(line.trace_flags ?? '1'), 16) || 0,
    };
  }
  return mapping;
}

/**
 * pino's numeric `time` in milliseconds. pino writes milliseconds by default, seconds with
 * `timestamp: pino.stdTimeFunctions.unixTime`, and an app's own function may write micro-
 * or nanoseconds; taken as milliseconds, seconds date a record in January 1970 (where no
 * search looks, and retention drops it). The unit is told by the size: a time under 10^11
 * is seconds (10^11 ms is March 1973, 10^11 s the year 5138), one of 10^14 or more is
 * microseconds, of 10^17 or more nanoseconds.
 */
export function millisOfPinoTime(time: number): number {
  const size = Math.abs(time);
  if (size < 1e11) return time * 1000;
  if (size >= 1e17) return time / 1e6;
  if (size >= 1e14) return time / 1e3;
  return time;
}

/** pino's serialised `err` → OpenTelemetry's exception.* semantic attributes. */
export function exceptionAttributes(err: unknown): LogAttributes {
  if (typeof err !== 'object' || err === null) return { 'exception.message': String(err) };
  const e = err as { type?: unknown; name?: unknown; message?: unknown; stack?: unknown };
  const out: LogAttributes = {};
  const type = typeof e.type === 'string' ? e.type : typeof e.name === 'string' ? e.name : undefined;
  if (type) out['exception.type'] = type;
  if (typeof e.message === 'string') out['exception.message'] = e.message;
  if (typeof e.stack === 'string') out['exception.stacktrace'] = e.stack;
  return out;
}
