import type { Attributes, LogRow, ResourceInfo, RowBinaryParts, ScopeInfo } from '../../model/log-row';
import { NANOS_PER_SECOND, secondsOfNanosLE } from '../../model/log-row';
import { patternIdOf, patternIdOfAsciiInto } from '../../model/pattern';
import type { StringTable } from '@distlog/proto';
import { DecodeError, WireReader, WireWriter } from '@distlog/proto';
import type { DecodeLimits } from './decode-common';

/**
 * The protobuf decoder's fast path. Most records have one shape: string body, string
 * attributes, ASCII text, 16- and 8-byte ids. For those the decoder does not make a
 * JavaScript string of the body, of the attributes or of the ids: it checks the record,
 * writes its own columns straight into RowBinary (bytes copied from the request, ids
 * turned to hex), computes the message's pattern id from the bytes, and hands on a
 * LazyRow. What the pipeline reads of every record — times, severity, event name,
 * resource, scope, an attribute a rule names (attributeValue) — is there at once; the
 * body, the attributes and the ids are decoded from the request's bytes only when some
 * stage asks for them (a rule on the body, the live tail, a forward destination).
 *
 * Anything else — another value type, non-ASCII text, a value to cut, a wire type the
 * declaration does not have, a malformed id — returns undefined, and the record is
 * decoded the usual way (which also names what is wrong with it). Both ways give the
 * same rows and the same RowBinary (decode-protobuf.test.ts checks it).
 *
 * Profiled (issue 16): the strings made per record and decoded only to be encoded again
 * were most of the decoding time and most of the garbage.
 */

/** The usual decoding of one record (decode-protobuf.ts), for a LazyRow asked for its strings. */
export type FullRecordDecoder = (
  r: WireReader,
  end: number,
  resource: ResourceInfo,
  scope: ScopeInfo,
  limits: DecodeLimits,
) => LogRow;

/**
 * Where records' own columns are encoded as they are decoded: one per thread, reused for
 * every request (a new generation each time; see RowBinaryParts).
 */
export class RecordScratch extends WireWriter {
  generation = 0;

  /** Starts the next request's records (a scratch grown past 4 MiB by a big request is let go). */
  next(): this {
    if (this.buf.length > 4 * 1024 * 1024) this.buf = Buffer.allocUnsafe(256 * 1024);
    this.pos = 0;
    this.generation++;
    return this;
  }
}

export class LazyRow implements LogRow, RowBinaryParts {
  /**
   * Where the times' eight bytes are in the request, -1 when unset (the observed time
   * stands in for the time, the receive time for both): read as BigInts only if a stage
   * asks; the table writers and the metrics take `timeSeconds`.
   */
  timeAt = -1;
  observedAt = -1;
  timeSeconds: number | undefined = undefined;
  private time: bigint | undefined = undefined;
  private timeSet = false;
  private observed: bigint | undefined = undefined;
  severityNumber = 0;
  severityText = '';
  droppedAttributesCount = 0;
  traceFlags = 0;
  eventName = '';
  /** Set by a stage, or read from the encoded columns ([d, e)) when first asked. */
  private pattern: [number, number] | undefined = undefined;
  /** Its own columns in RowBinary; undefined once a stage changed a field they hold. */
  rowBinary: RowBinaryParts | undefined = this;
  generation: number;
  a = 0;
  b = 0;
  c = 0;
  d = 0;
  e = 0;
  private decoded: LogRow | undefined = undefined;

  constructor(
    readonly scratch: RecordScratch,
    readonly resource: ResourceInfo,
    readonly scope: ScopeInfo,
    /** The record's bytes in the request, and how to decode them in full. */
    private readonly source: Buffer,
    private readonly start: number,
    private readonly end: number,
    private readonly limits: DecodeLimits,
    private readonly decodeFull: FullRecordDecoder,
  ) {
    this.generation = scratch.generation;
  }

  private full(): LogRow {
    return (this.decoded ??= this.decodeFull(
      new WireReader(this.source, this.start, this.end),
      this.end,
      this.resource,
      this.scope,
      this.limits,
    ));
  }

  get timeUnixNano(): bigint {
    return (this.time ??=
      this.timeAt >= 0 ? this.source.readBigUInt64LE(this.timeAt) : this.observedTimeUnixNano);
  }
  set timeUnixNano(value: bigint) {
    this.time = value;
    this.timeSet = true;
    this.timeSeconds = undefined;
    this.rowBinary = undefined;
  }
  get observedTimeUnixNano(): bigint {
    return (this.observed ??=
      this.observedAt >= 0 ? this.source.readBigUInt64LE(this.observedAt) : this.limits.receivedAtUnixNano);
  }
  set observedTimeUnixNano(value: bigint) {
    this.observed = value;
    this.rowBinary = undefined;
  }
  /** The record's time is its receive time (see request-id.ts), read without a BigInt when it was sent. */
  get datedOnArrival(): boolean {
    if (!this.timeSet && this.timeAt >= 0) return false;
    return this.timeUnixNano === this.limits.receivedAtUnixNano;
  }

  /**
   * The fast path writes the message's pattern id with the record's columns (no array per
   * record) and reads it from there when first asked (the live tail). Once a stage changed
   * the record, it is undefined until the table writer computes it again from the body.
   */
  get patternId(): [number, number] | undefined {
    if (
      this.pattern === undefined &&
      this.rowBinary !== undefined &&
      this.generation === this.scratch.generation
    ) {
      const buf = this.scratch.buf;
      this.pattern = [buf.readUInt32LE(this.d + 4), buf.readUInt32LE(this.d)];
    }
    return this.pattern;
  }
  set patternId(value: [number, number] | undefined) {
    this.pattern = value;
  }

  get body(): string {
    return this.full().body;
  }
  set body(value: string) {
    this.full().body = value;
    this.rowBinary = undefined;
    this.pattern = undefined; // computed again from the new body when the row is written
  }
  get attributes(): Attributes {
    // Handed out to be read or changed: the encoded columns no longer speak for them.
    this.rowBinary = undefined;
    return this.full().attributes;
  }
  set attributes(value: Attributes) {
    this.full().attributes = value;
    this.rowBinary = undefined;
  }
  get traceId(): string {
    return this.full().traceId;
  }
  set traceId(value: string) {
    this.full().traceId = value;
    this.rowBinary = undefined;
  }
  get spanId(): string {
    return this.full().spanId;
  }
  set spanId(value: string) {
    this.full().spanId = value;
    this.rowBinary = undefined;
  }
}

/** A KeyValue's key and string value: [keyStart, keyEnd, valueStart, valueEnd] per attribute. */
const attributeRanges = new Int32Array(4 * 127);
const EMPTY_BODY_PATTERN = Uint32Array.from(patternIdOf(''));

function isAscii(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] > 0x7f) return false;
  return true;
}

function isZero(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] !== 0) return false;
  return true;
}

/**
 * `r` at a trace or span id field of `bytes` bytes: where the id is in the request, -1 for
 * none (empty or all zero), undefined for any other length (the usual decoding refuses it).
 */
function idAt(r: WireReader, bytes: number): number | undefined {
  const end = r.lengthDelimitedEnd();
  const start = r.pos;
  r.pos = end;
  if (end === start) return -1;
  if (end - start !== bytes) return undefined;
  return isZero(r.buf, start, end) ? -1 : start;
}

/**
 * `r` at the first field of a LogRecord whose bytes end at `end`: a LazyRow, its own
 * columns appended to `scratch`; or undefined (nothing written, `r.pos` anywhere) when the
 * record is not of the common shape.
 */
export function decodeRecordFast(
  r: WireReader,
  end: number,
  resource: ResourceInfo,
  scope: ScopeInfo,
  limits: DecodeLimits,
  strings: StringTable,
  scratch: RecordScratch,
  decodeFull: FullRecordDecoder,
): LazyRow | undefined {
  const buf = r.buf;
  const start = r.pos;
  /** Where the times' eight bytes are in the request (copied as they are), -1 when unset. */
  let timeAt = -1;
  let observedAt = -1;
  let severityNumber = 0;
  let severityText = '';
  let eventName = '';
  let flags = 0;
  let dropped = 0;
  let bodyStart = -1;
  let bodyEnd = -1;
  let traceAt = -1;
  let spanAt = -1;
  let attributes = 0;
  try {
    while (r.pos < end) {
      // The whole tag: a known field with another wire type than its declaration's is not
      // of the common shape (the usual decoding names the error).
      const tag = r.varint();
      switch (tag) {
        case (1 << 3) | 1: // time_unix_nano, fixed64
          timeAt = r.pos;
          r.skip(1);
          break;
        case (2 << 3) | 0: // severity_number
          severityNumber = r.varint();
          if (severityNumber > 24) return undefined;
          break;
        case (3 << 3) | 2: // severity_text
          severityText = r.repeatedString(strings);
          break;
        case (5 << 3) | 2: {
          // body: an AnyValue holding a string_value (field 1) and nothing else, or empty
          if (bodyStart >= 0) return undefined;
          const valueEnd = r.lengthDelimitedEnd();
          if (r.pos === valueEnd) {
            bodyStart = bodyEnd = valueEnd;
            break;
          }
          if (buf[r.pos++] !== ((1 << 3) | 2)) return undefined;
          bodyEnd = r.lengthDelimitedEnd();
          bodyStart = r.pos;
          if (bodyEnd !== valueEnd || !isAscii(buf, bodyStart, bodyEnd)) return undefined;
          r.pos = valueEnd;
          break;
        }
        case (6 << 3) | 2: {
          // attributes: KeyValue { key = 1; value = 2 (AnyValue with a string_value) }
          if (attributes === 127) return undefined;
          const kvEnd = r.lengthDelimitedEnd();
          if (buf[r.pos++] !== ((1 << 3) | 2)) return undefined;
          const keyEnd = r.lengthDelimitedEnd();
          const keyStart = r.pos;
          if (keyEnd - keyStart > 127 || !isAscii(buf, keyStart, keyEnd)) return undefined;
          r.pos = keyEnd;
          if (r.pos >= kvEnd || buf[r.pos++] !== ((2 << 3) | 2)) return undefined;
          if (r.lengthDelimitedEnd() !== kvEnd || buf[r.pos++] !== ((1 << 3) | 2)) return undefined;
          const valueEnd = r.lengthDelimitedEnd();
          const valueStart = r.pos;
          if (valueEnd !== kvEnd || !isAscii(buf, valueStart, valueEnd)) return undefined;
          const max = limits.maxAttributeValueLength;
          if (max > 0 && valueEnd - valueStart > max) return undefined;
          const k = attributes++ * 4;
          attributeRanges[k] = keyStart;
          attributeRanges[k + 1] = keyEnd;
          attributeRanges[k + 2] = valueStart;
          attributeRanges[k + 3] = valueEnd;
          r.pos = kvEnd;
          break;
        }
        case (7 << 3) | 0: // dropped_attributes_count
          dropped = r.varint();
          break;
        case (8 << 3) | 5: // flags, fixed32
          flags = r.fixed32() & 0xff;
          break;
        case (9 << 3) | 2: {
          // trace_id
          const at = idAt(r, 16);
          if (at === undefined) return undefined;
          traceAt = at;
          break;
        }
        case (10 << 3) | 2: {
          // span_id
          const at = idAt(r, 8);
          if (at === undefined) return undefined;
          spanAt = at;
          break;
        }
        case (11 << 3) | 1: // observed_time_unix_nano, fixed64
          observedAt = r.pos;
          r.skip(1);
          break;
        case (12 << 3) | 2: // event_name
          eventName = r.repeatedString(strings);
          break;
        default: {
          const field = tag >>> 3;
          if (field >= 1 && field <= 12 && field !== 4) return undefined;
          r.skip(tag & 7);
        }
      }
    }
  } catch (err) {
    if (err instanceof DecodeError) return undefined;
    throw err;
  }
  if (r.pos !== end) return undefined;

  // OTLP: the observed time stands in for an unset (0) time; the receive time for both (decode-common.ts).
  if (observedAt >= 0 && isZero(buf, observedAt, observedAt + 8)) observedAt = -1;
  if (timeAt < 0 || isZero(buf, timeAt, timeAt + 8)) timeAt = observedAt;
  const row = new LazyRow(scratch, resource, scope, buf, start, end, limits, decodeFull);
  row.timeAt = timeAt;
  row.observedAt = observedAt;
  row.timeSeconds =
    timeAt >= 0 ? secondsOfNanosLE(buf, timeAt) : Number(limits.receivedAtUnixNano / NANOS_PER_SECOND);
  row.severityNumber = severityNumber;
  row.severityText = severityText;
  row.eventName = eventName;
  row.traceFlags = flags;
  row.droppedAttributesCount = dropped;

  // The record's own columns, in LOG_COLUMNS order (sinks/clickhouse/row-binary.ts).
  row.a = scratch.pos;
  if (timeAt >= 0) scratch.copyFrom(buf, timeAt, timeAt + 8);
  else scratch.fixed64(limits.receivedAtUnixNano);
  if (observedAt >= 0) scratch.copyFrom(buf, observedAt, observedAt + 8);
  else scratch.fixed64(limits.receivedAtUnixNano);
  scratch.byte(severityNumber);
  scratch.string(severityText);
  row.b = scratch.pos;
  scratch.string(eventName);
  scratch.stringBytes(buf, bodyStart < 0 ? 0 : bodyStart, bodyEnd < 0 ? 0 : bodyEnd);
  if (traceAt >= 0) scratch.hexString(buf, traceAt, 16);
  else scratch.byte(0);
  if (spanAt >= 0) scratch.hexString(buf, spanAt, 8);
  else scratch.byte(0);
  scratch.byte(flags);
  row.c = scratch.pos;
  scratch.byte(attributes);
  for (let k = 0; k < attributes * 4; k += 4)
    scratch.stringBytes(buf, attributeRanges[k], attributeRanges[k + 1]);
  scratch.byte(attributes);
  for (let k = 0; k < attributes * 4; k += 4)
    scratch.stringBytes(buf, attributeRanges[k + 2], attributeRanges[k + 3]);
  scratch.fixed32(dropped);
  row.d = scratch.pos;
  // PatternId: a UInt64, [high, low] written low half first.
  const id = bodyStart < bodyEnd ? patternIdOfAsciiInto(buf, bodyStart, bodyEnd) : EMPTY_BODY_PATTERN;
  scratch.fixed32(id[1]);
  scratch.fixed32(id[0]);
  row.e = scratch.pos;
  return row;
}
