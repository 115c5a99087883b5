import type { HrTime } from '@opentelemetry/api';
import { WireWriter } from '@distlog/proto';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';

/**
 * ExportLogsServiceRequest in protobuf (opentelemetry/proto/collector/logs/v1), written
 * in one pass into one growing buffer. It produces the same bytes as the OTel SDK's
 * serializer (same fields, same order, same rules for what is left out — a test holds
 * them equal) at less cost per record, which the app pays (the in-process destination)
 * or its transport worker does:
 *  - trace and span ids go from hex to bytes inside Buffer.write (no array per id);
 *  - a resource and an instrumentation scope are encoded once and their bytes reused;
 *  - no size-estimating first pass: a nested message gets one byte for its length and is
 *    moved up in the rare case that it needs more.
 */

// Field tags: (field number << 3) | wire type. All fit one byte.
const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const FIXED32 = 5;
const tag = (field: number, wire: number) => (field << 3) | wire;

const MIN_INT64 = -(2 ** 63);
const MAX_INT64 = 2 ** 63;
const TWO_32 = 2 ** 32;

/** 0–9, a–f, A–F → 0–15 (ids are checked hex before they get here). */
function hexDigit(c: number): number {
  return c <= 57 ? c - 48 : (c | 32) - 87;
}

let lastTimeSeconds = -1;
let lastTimeNanos = -1;
let lastTimeLo = 0;
let lastTimeHi = 0;

/** The shared wire writer, with what only this encoder needs: OTel's HrTime, hex ids as bytes. */
class Writer extends WireWriter {
  /** HrTime [seconds, nanoseconds] as fixed64 nanoseconds, exact (no product above 2^53). */
  time(t: HrTime): void {
    // Records of one millisecond share their times: the last one's encoding is reused.
    if (t[0] === lastTimeSeconds && t[1] === lastTimeNanos) {
      this.reserve(8);
      this.le32(lastTimeLo);
      this.le32(lastTimeHi);
      return;
    }
    const seconds = t[0];
    // seconds × 1e9 + nanoseconds as two 32-bit halves, exactly: Math.imul gives the product's
    // low 32 bits; the double product is off by at most 2^8 (below 2^62), so its high half rounds right.
    let lo = Math.imul(seconds, 1_000_000_000) >>> 0;
    let hi = Math.round((seconds * 1e9 - lo) / TWO_32);
    lo += t[1];
    if (lo >= TWO_32) {
      lo -= TWO_32;
      hi++;
    }
    lastTimeSeconds = seconds;
    lastTimeNanos = t[1];
    lastTimeLo = lo;
    lastTimeHi = hi;
    this.reserve(8);
    this.le32(lo);
    this.le32(hi);
  }

  private le32(n: number): void {
    const buf = this.buf;
    buf[this.pos++] = n & 255;
    buf[this.pos++] = (n >>> 8) & 255;
    buf[this.pos++] = (n >>> 16) & 255;
    buf[this.pos++] = (n >>> 24) & 255;
  }

  /**
   * A KeyValue whose key is ASCII and whose value is ASCII text or an integer in [0, 2^28),
   * all under 128 bytes, so every length fits one byte: written with one bounds check, no
   * lengths to go back to. False (nothing written) for anything else.
   */
  shortKeyValue(fieldTag: number, key: string, value: unknown): boolean {
    const keyLength = key.length;
    let valueLength: number;
    if (typeof value === 'string') {
      valueLength = value.length;
      if (valueLength > 64) return false;
    } else if (typeof value === 'number' && value >= 0 && value < 268_435_456 && Number.isInteger(value)) {
      valueLength = -1;
    } else return false;
    this.reserve(keyLength + (valueLength < 0 ? 5 : valueLength) + 8);
    const buf = this.buf;
    const start = this.pos;
    let p = start + 4; // after the field tag, the KeyValue's length, the key's tag and length
    for (let i = 0; i < keyLength; i++) {
      const c = key.charCodeAt(i);
      if (c > 127) return false;
      buf[p++] = c;
    }
    buf[p++] = 0x12; // KeyValue.value (2, LEN)
    const anyAt = p++;
    if (valueLength < 0) {
      buf[p++] = 0x18; // AnyValue.int_value (3, VARINT)
      let n = value as number;
      while (n > 127) {
        buf[p++] = (n & 127) | 128;
        n >>>= 7;
      }
      buf[p++] = n;
    } else {
      buf[p++] = 0x0a; // AnyValue.string_value (1, LEN)
      buf[p++] = valueLength;
      const text = value as string;
      for (let i = 0; i < valueLength; i++) {
        const c = text.charCodeAt(i);
        if (c > 127) return false;
        buf[p++] = c;
      }
    }
    buf[anyAt] = p - anyAt - 1;
    buf[start] = fieldTag;
    buf[start + 1] = p - start - 2;
    buf[start + 2] = 0x0a; // KeyValue.key (1, LEN)
    buf[start + 3] = keyLength;
    this.pos = p;
    return true;
  }

  /** Trace or span id: hex text → `bytes` field content (a JS loop: cheaper than a native call here). */
  hexBytes(hex: string): void {
    const n = hex.length >>> 1;
    this.reserve(1 + n);
    const buf = this.buf;
    let p = this.pos;
    buf[p++] = n;
    for (let i = 0; i < n; i++)
      buf[p++] = (hexDigit(hex.charCodeAt(2 * i)) << 4) | hexDigit(hex.charCodeAt(2 * i + 1));
    this.pos = p;
  }
}

function anyValue(w: Writer, value: unknown): void {
  switch (typeof value) {
    case 'string':
      w.byte(tag(1, LEN));
      w.string(value);
      return;
    case 'boolean':
      w.byte(tag(2, VARINT));
      w.byte(value ? 1 : 0);
      return;
    case 'number':
      if (Number.isInteger(value) && value >= MIN_INT64 && value < MAX_INT64) {
        w.byte(tag(3, VARINT));
        w.int64(value);
      } else {
        w.byte(tag(4, FIXED64));
        w.double(value);
      }
      return;
    case 'object':
      if (value === null) return;
      if (value instanceof Uint8Array) {
        w.byte(tag(7, LEN));
        w.uint32(value.length);
        w.raw(value);
      } else if (Array.isArray(value)) {
        w.byte(tag(5, LEN));
        const list = w.begin();
        for (const item of value) {
          w.byte(tag(1, LEN));
          const at = w.begin();
          anyValue(w, item);
          w.end(at);
        }
        w.end(list);
      } else {
        w.byte(tag(6, LEN));
        const list = w.begin();
        keyValues(w, value as Record<string, unknown>, 1);
        w.end(list);
      }
      return;
    default:
    // undefined, functions, symbols, bigints: an empty AnyValue, as the OTel SDK writes.
  }
}

/** `repeated KeyValue` under `field`: key = 1, value = 2. */
function keyValues(w: Writer, attributes: Record<string, unknown>, field: number): void {
  for (const key in attributes) {
    if (!Object.prototype.hasOwnProperty.call(attributes, key)) continue;
    const value = attributes[key];
    // Most attributes are a short key with a short text or a small count: written in one go.
    if (key.length < 48 && w.shortKeyValue(tag(field, LEN), key, value)) continue;
    w.byte(tag(field, LEN));
    const kv = w.begin();
    w.byte(tag(1, LEN));
    w.string(key);
    w.byte(tag(2, LEN));
    const at = w.begin();
    anyValue(w, value);
    w.end(at);
    w.end(kv);
  }
}

function logRecord(w: Writer, r: ReadableLogRecord): void {
  const start = w.begin();
  w.byte(tag(1, FIXED64));
  w.time(r.hrTime);
  if (r.severityNumber !== undefined && r.severityNumber !== 0) {
    w.byte(tag(2, VARINT));
    w.uint32(r.severityNumber);
  }
  w.stringField(3, r.severityText);
  if (r.body !== undefined) {
    w.byte(tag(5, LEN));
    const body = w.begin();
    anyValue(w, r.body);
    w.end(body);
  }
  if (r.attributes) keyValues(w, r.attributes, 6);
  w.byte(tag(7, VARINT));
  w.uint32(r.droppedAttributesCount || 0);
  const sc = r.spanContext;
  if (sc) w.raw(spanContextBytes(sc));
  w.byte(tag(11, FIXED64));
  w.time(r.hrTimeObserved);
  w.stringField(12, r.eventName);
  w.end(start);
}

// Consecutive records mostly share one span: its three fields are encoded once.
let lastSpanContext: ReadableLogRecord['spanContext'];
let lastSpanContextBytes = new Uint8Array(0);

/** Fields 8–10 (flags, trace id, span id) of a record in `sc`'s span, written into a reused writer and kept. */
const spanWriter = new Writer(64);
function spanContextBytes(sc: NonNullable<ReadableLogRecord['spanContext']>): Uint8Array {
  if (sc === lastSpanContext) return lastSpanContextBytes;
  const w = spanWriter;
  w.pos = 0;
  if (sc.traceFlags) {
    w.byte(tag(8, FIXED32));
    w.fixed32(sc.traceFlags);
  }
  if (sc.traceId) {
    w.byte(tag(9, LEN));
    w.hexBytes(sc.traceId);
  }
  if (sc.spanId) {
    w.byte(tag(10, LEN));
    w.hexBytes(sc.spanId);
  }
  lastSpanContext = sc;
  // A copy: a batch's records keep referring to the bytes of their span while the writer moves on.
  lastSpanContextBytes = w.buf.slice(0, w.pos);
  return lastSpanContextBytes;
}

type Scope = ReadableLogRecord['instrumentationScope'] & {
  attributes?: Record<string, unknown>;
  droppedAttributesCount?: number;
};

// Encoded once: `resource` (ResourceLogs field 1) and `scope` (ScopeLogs field 1), tag included.
const resourceBytes = new WeakMap<Resource, Uint8Array>();
const scopeBytes = new WeakMap<object, Uint8Array>();

function encodedResource(resource: Resource): Uint8Array {
  let bytes = resourceBytes.get(resource);
  if (bytes === undefined) {
    const w = new Writer(256);
    w.byte(tag(1, LEN));
    const start = w.begin();
    if (resource.attributes) keyValues(w, resource.attributes, 1);
    w.byte(tag(2, VARINT));
    w.byte(0);
    w.end(start);
    bytes = Uint8Array.from(w.bytes());
    // Attributes still being detected may change: keep only settled resources.
    if (!resource.asyncAttributesPending) resourceBytes.set(resource, bytes);
  }
  return bytes;
}

function encodedScope(scope: Scope): Uint8Array {
  let bytes = scopeBytes.get(scope);
  if (bytes === undefined) {
    const w = new Writer(128);
    w.byte(tag(1, LEN));
    const start = w.begin();
    w.byte(tag(1, LEN));
    w.string(scope.name);
    w.stringField(2, scope.version);
    if (scope.attributes) keyValues(w, scope.attributes, 3);
    if (scope.droppedAttributesCount) {
      w.byte(tag(4, VARINT));
      w.uint32(scope.droppedAttributesCount);
    }
    w.end(start);
    bytes = Uint8Array.from(w.bytes());
    scopeBytes.set(scope, bytes);
  }
  return bytes;
}

// The last request's size: the next buffer starts about that large.
let lastSize = 64 * 1024;

export function serializeLogsRequest(records: ReadableLogRecord[]): Uint8Array {
  const w = new Writer(lastSize + (lastSize >>> 3));
  // Mostly every record of a batch has the same resource and scope: no grouping then.
  const first = records[0];
  let mixed = false;
  for (let i = 1; i < records.length && !mixed; i++)
    mixed =
      records[i].resource !== first.resource ||
      records[i].instrumentationScope !== first.instrumentationScope;
  if (!mixed) {
    if (first) writeResourceLogs(w, first.resource, [[first.instrumentationScope, records]]);
  } else {
    // Records grouped by resource, then scope, each in order of first appearance.
    const byResource = new Map<Resource, Map<Scope, ReadableLogRecord[]>>();
    for (const record of records) {
      let byScope = byResource.get(record.resource);
      if (!byScope) byResource.set(record.resource, (byScope = new Map()));
      const list = byScope.get(record.instrumentationScope);
      if (list) list.push(record);
      else byScope.set(record.instrumentationScope, [record]);
    }
    for (const [resource, byScope] of byResource) writeResourceLogs(w, resource, [...byScope]);
  }
  lastSize = Math.max(1024, w.pos);
  return w.bytes();
}

/** One ResourceLogs: the resource, then a ScopeLogs for each scope and its records. */
function writeResourceLogs(w: Writer, resource: Resource, scopes: Array<[Scope, ReadableLogRecord[]]>): void {
  w.byte(tag(1, LEN));
  const resourceLogs = w.begin();
  w.raw(encodedResource(resource));
  for (const [scope, list] of scopes) {
    w.byte(tag(2, LEN));
    const scopeLogs = w.begin();
    w.raw(encodedScope(scope));
    for (let i = 0; i < list.length; i++) {
      w.byte(tag(2, LEN));
      logRecord(w, list[i]);
    }
    w.stringField(3, scope.schemaUrl);
    w.end(scopeLogs);
  }
  w.stringField(3, resource.schemaUrl);
  w.end(resourceLogs);
}
