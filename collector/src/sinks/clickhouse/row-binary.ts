import { Attributes, LogRow } from '../../model/log-row';
import { ByteWriter } from '../../helpers/byte-writer';

/**
 * Encodes LogRows in ClickHouse's RowBinary format, in the column order of
 * LOG_COLUMNS. RowBinary was the fastest insert format measured on the target
 * servers (about 1.5x pre-serialised TabSeparated, 1.8x JSONEachRow), and encoding
 * here avoids any per-row intermediate object.
 */
export const LOG_COLUMNS = [
  'Timestamp',
  'TimeUnixNano',
  'ObservedTimeUnixNano',
  'SeverityNumber',
  'SeverityText',
  'ServiceName',
  'ScopeName',
  'ScopeVersion',
  'EventName',
  'Body',
  'TraceId',
  'SpanId',
  'TraceFlags',
  'ResourceSchemaUrl',
  'ResourceAttributes.key',
  'ResourceAttributes.value',
  'ScopeAttributes.key',
  'ScopeAttributes.value',
  'LogAttributes.key',
  'LogAttributes.value',
  'DroppedAttributesCount',
  'BatchId',
  'RequestId',
] as const;

/** The columns of spool files written before batches carried ids (replayed as they are). */
export const LOG_COLUMNS_WITHOUT_BATCH_ID = LOG_COLUMNS.filter((c) => c !== 'BatchId' && c !== 'RequestId');

const NANOS_PER_SECOND = 1_000_000_000n;
const MAX_DATETIME = 0xffffffff;
/**
 * DateTime64(9) reaches 2262, but times are clamped to DateTime's range on both lines: the
 * rollups and the trace index keep DateTime, and ClickHouse wraps a later DateTime64 around
 * when it converts it (2262 becomes 1990), which would hide the record from trace lookups.
 */
const MAX_DATETIME64_NANOS = BigInt(MAX_DATETIME) * NANOS_PER_SECOND + (NANOS_PER_SECOND - 1n);

export class RowBinaryWriter extends ByteWriter {
  /** Rows written, and the range of their `Timestamp` in seconds (what a stored-check reads). */
  rows = 0;
  minSeconds = Infinity;
  maxSeconds = -Infinity;

  /**
   * @param timeNanos the table's `Timestamp` is DateTime64(9) (else DateTime seconds; see storage/schema.ts).
   * @param batchId written with every row (`BatchId`): what tells whether a batch is stored (batch-id.ts).
   */
  constructor(
    private readonly timeNanos = false,
    readonly batchId = 0n,
  ) {
    super();
  }

  /** @param requestId the OTLP request the rows came in (receivers/otlp/request-id.ts), 0 if none. */
  writeRows(rows: readonly LogRow[], requestId = 0n): void {
    for (const row of rows) this.writeRow(row, requestId);
  }

  writeRow(row: LogRow, requestId = 0n): void {
    const wholeSeconds = row.timeUnixNano / NANOS_PER_SECOND;
    const seconds = wholeSeconds > MAX_DATETIME ? MAX_DATETIME : Number(wholeSeconds);
    if (seconds < this.minSeconds) this.minSeconds = seconds;
    if (seconds > this.maxSeconds) this.maxSeconds = seconds;
    this.rows++;
    if (this.timeNanos) {
      const nanos = row.timeUnixNano;
      this.uint64LE(nanos > MAX_DATETIME64_NANOS ? MAX_DATETIME64_NANOS : nanos);
    } else {
      this.uint32LE(seconds);
    }
    this.uint64LE(row.timeUnixNano);
    this.uint64LE(row.observedTimeUnixNano);
    this.uint8(row.severityNumber);
    this.string(row.severityText);
    this.string(row.resource.serviceName);
    this.string(row.scope.name);
    this.string(row.scope.version);
    this.string(row.eventName);
    this.string(row.body);
    this.string(row.traceId);
    this.string(row.spanId);
    this.uint8(row.traceFlags);
    this.string(row.resource.schemaUrl);
    this.attributes(row.resource.attributes);
    this.attributes(row.scope.attributes);
    this.attributes(row.attributes);
    this.uint32LE(row.droppedAttributesCount);
    this.uint64LE(this.batchId);
    this.uint64LE(requestId);
  }

  private attributes(attrs: Attributes): void {
    this.stringArray(attrs.keys);
    this.stringArray(attrs.values);
  }

  private stringArray(values: readonly string[]): void {
    this.varint(values.length);
    for (const v of values) this.string(v);
  }

  private string(value: string): void {
    // Buffer.byteLength is native and cheaper than encoding twice for the length prefix.
    const byteLength = value.length < 64 && isAscii(value) ? value.length : Buffer.byteLength(value, 'utf8');
    this.ensure(byteLength + 10);
    this.varint(byteLength);
    if (byteLength === value.length && byteLength < 64) {
      for (let i = 0; i < byteLength; i++) this.buf[this.pos + i] = value.charCodeAt(i);
    } else {
      this.buf.write(value, this.pos, byteLength, 'utf8');
    }
    this.pos += byteLength;
  }

  private uint8(value: number): void {
    this.ensure(1);
    this.buf[this.pos++] = value;
  }
}

function isAscii(value: string): boolean {
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) > 0x7f) return false;
  return true;
}
