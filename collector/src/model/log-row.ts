/**
 * The collector's one internal record shape: an OTLP LogRecord flattened with its
 * resource and scope, values already rendered to strings for storage. Resource and
 * scope objects are shared by every row of the same ResourceLogs/ScopeLogs, so a
 * batch of N records allocates them once.
 */
export interface Attributes {
  keys: string[];
  values: string[];
  /** Set when a value was cut to the configured maximum length. */
  truncated?: boolean;
}

/** The attribute added to a record one of whose attribute values was cut. */
export const TRUNCATED_MARKER = 'distlog.truncated';

export function markIfTruncated(attributes: Attributes): void {
  if (!attributes.truncated) return;
  attributes.keys.push(TRUNCATED_MARKER);
  attributes.values.push('true');
  delete attributes.truncated;
}

export interface ResourceInfo {
  serviceName: string;
  attributes: Attributes;
  schemaUrl: string;
  droppedAttributesCount: number;
}

export interface ScopeInfo {
  name: string;
  version: string;
  attributes: Attributes;
  schemaUrl: string;
}

export interface LogRow {
  /** Event time; the observed time when the sender left it unset, the receive time when both are. */
  timeUnixNano: bigint;
  observedTimeUnixNano: bigint;
  severityNumber: number;
  severityText: string;
  /** String bodies as they are; any other AnyValue as JSON (see any-value.ts). */
  body: string;
  attributes: Attributes;
  droppedAttributesCount: number;
  /** W3C trace flags: the low 8 bits of LogRecord.flags. */
  traceFlags: number;
  /** Lower-case hex, or '' when absent. */
  traceId: string;
  spanId: string;
  eventName: string;
  resource: ResourceInfo;
  scope: ScopeInfo;
  /** The message's pattern id as [high, low] 32-bit halves (model/pattern.ts), set when first stored. */
  patternId?: [number, number];
  /**
   * `timeUnixNano` in whole seconds, when the decoder has it without a BigInt (see
   * receivers/otlp/lazy-row.ts); read through timeSecondsOf().
   */
  readonly timeSeconds?: number;
  /**
   * The record's own columns already in RowBinary, set by the protobuf decoder for records
   * of the common shape (see receivers/otlp/lazy-row.ts): the table writers copy them
   * instead of encoding the strings again.
   */
  rowBinary?: RowBinaryParts;
}

export const NANOS_PER_SECOND = 1_000_000_000n;

/** A record's time in whole seconds (not clamped). */
export function timeSecondsOf(row: LogRow): number {
  return row.timeSeconds ?? Number(row.timeUnixNano / NANOS_PER_SECOND);
}

/**
 * The little-endian unsigned 64-bit nanoseconds at `buf[at…at+8)` in whole seconds, exactly,
 * without a BigInt (a BigInt read and divided for every record was a third of the
 * collector's garbage). With the high 32 bits as two 16-bit halves, N = hh·2^48 + hl·2^32 + lo,
 * where 2^48 ns = 281 474 s + 976 710 656 ns and 2^32 ns = 4 s + 294 967 296 ns: the
 * nanosecond remainders add up to less than 2^53, so every step is exact.
 */
export function secondsOfNanosLE(buf: Uint8Array, at: number): number {
  const lo = (buf[at] | (buf[at + 1] << 8) | (buf[at + 2] << 16) | (buf[at + 3] << 24)) >>> 0;
  const hl = buf[at + 4] | (buf[at + 5] << 8);
  const hh = buf[at + 6] | (buf[at + 7] << 8);
  const nanos = hh * 976_710_656 + hl * 294_967_296 + lo;
  return hh * 281_474 + hl * 4 + Math.floor(nanos / 1e9);
}

/**
 * A record's own columns in RowBinary (sinks/clickhouse/row-binary.ts, LOG_COLUMNS order),
 * in four runs of `scratch.buf`, because the columns of its resource and scope (shared by
 * a request's records, encoded once) and the batch's and request's ids fall between them:
 *   [a, b) TimeUnixNano … SeverityText   [b, c) EventName … TraceFlags
 *   [c, d) LogAttributes.key, LogAttributes.value, DroppedAttributesCount   [d, e) PatternId
 */
export interface RowBinaryParts {
  /**
   * Where the decoder encodes records, reused request after request: the runs are valid
   * while `scratch.generation` is still `generation` (the request's records are routed and
   * encoded by the table writers before the next request is decoded; a stage that reads
   * them later reads the fields instead).
   */
  scratch: { buf: Buffer; generation: number };
  generation: number;
  a: number;
  b: number;
  c: number;
  d: number;
  e: number;
}

/**
 * A record attribute's value, or undefined when the record has none of that key. Reads a
 * record decoded lazily (`rowBinary` set) from its encoded columns without decoding the rest.
 */
export function attributeValue(row: LogRow, key: string): string | undefined {
  const parts = row.rowBinary;
  if (parts && parts.generation === parts.scratch.generation) return encodedAttribute(parts, key);
  const i = row.attributes.keys.indexOf(key);
  return i < 0 ? undefined : row.attributes.values[i];
}

/** In [c, d): a LEB128 count and length-prefixed keys, then the same for the values; all ASCII (the fast path's condition). */
function encodedAttribute(parts: RowBinaryParts, key: string): string | undefined {
  const buf = parts.scratch.buf;
  let p = parts.c;
  const count = buf[p++]; // at most 127 attributes take the fast path (one-byte count)
  let found = -1;
  for (let i = 0; i < count; i++) {
    const len = buf[p++]; // keys of at most 127 bytes take the fast path
    if (found < 0 && len === key.length) {
      let j = 0;
      while (j < len && buf[p + j] === key.charCodeAt(j)) j++;
      if (j === len) found = i;
    }
    p += len;
  }
  if (found < 0) return undefined;
  p++; // the values' count, the same
  for (let i = 0; ; i++) {
    let len = 0;
    let shift = 0;
    let b: number;
    do {
      b = buf[p++];
      len |= (b & 0x7f) << shift;
      shift += 7;
    } while (b >= 0x80);
    if (i === found) return buf.toString('latin1', p, p + len);
    p += len;
  }
}

export const UNKNOWN_SERVICE = 'unknown_service';

export function emptyAttributes(): Attributes {
  return { keys: [], values: [] };
}

export function serviceNameOf(attributes: Attributes): string {
  const i = attributes.keys.indexOf('service.name');
  return i >= 0 && attributes.values[i] !== '' ? attributes.values[i] : UNKNOWN_SERVICE;
}

// prettier-ignore
export const SEVERITY_TEXT_BY_NUMBER: readonly string[] = [
  '', 'TRACE', 'TRACE2', 'TRACE3', 'TRACE4', 'DEBUG', 'DEBUG2', 'DEBUG3', 'DEBUG4',
  'INFO', 'INFO2', 'INFO3', 'INFO4', 'WARN', 'WARN2', 'WARN3', 'WARN4',
  'ERROR', 'ERROR2', 'ERROR3', 'ERROR4', 'FATAL', 'FATAL2', 'FATAL3', 'FATAL4',
];

/** A row with plain defaults (INFO "hello" from service `orders`, logger `app`, now-less time 1 ns), for tests and synthetic records. */
export function makeRow(
  overrides: Partial<LogRow> & { service?: string; scopeName?: string; attrs?: Record<string, string> } = {},
): LogRow {
  const { service = 'orders', scopeName = 'app', attrs = {}, ...rest } = overrides;
  return {
    timeUnixNano: 1n,
    observedTimeUnixNano: 1n,
    severityNumber: 9,
    severityText: 'INFO',
    body: 'hello',
    attributes: { keys: Object.keys(attrs), values: Object.values(attrs) },
    droppedAttributesCount: 0,
    traceFlags: 0,
    traceId: '',
    spanId: '',
    eventName: '',
    resource: {
      serviceName: service,
      attributes: { keys: ['service.name'], values: [service] },
      schemaUrl: '',
      droppedAttributesCount: 0,
    },
    scope: { name: scopeName, version: '', attributes: emptyAttributes(), schemaUrl: '' },
    ...rest,
  };
}
