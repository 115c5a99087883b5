import type { Attributes, LogRow, ResourceInfo, ScopeInfo } from '../../model/log-row';
import { UNKNOWN_SERVICE, emptyAttributes, markIfTruncated } from '../../model/log-row';
import {
  WIRE_FIXED32,
  WIRE_FIXED64,
  WIRE_LEN,
  WIRE_VARINT,
  DecodeError,
  WireReader,
  expectWireType,
} from '@distlog/proto';
import type { DecodeLimits, DecodedRequest } from './decode-common';
import { rejectRecord, validateId } from './decode-common';
import { STRINGS, decodeKeyValueInto, decodeResource, decodeScope, finishEnd } from './decode-protobuf';
import type { Json } from './decode-json';
import {
  asObject,
  decodeAttributes,
  describe,
  hexId,
  list,
  parseRequest,
  resourceOf,
  scopeOf,
  str,
  uint,
  uint64,
  wrap,
} from './decode-json';

/**
 * OTLP traces, taken as scope records. A span from any OpenTelemetry SDK (Python, Go, Java,
 * an app's own Node SDK, auto-instrumentation) becomes the record Distlog's own scopes write
 * when they end — event `distlog.scope.end` with `scope.name`, `scope.parent_span_id`,
 * `scope.status`, `scope.duration_ms` and `exception.*` — dated at the span's end, so the
 * trace view, `distlog tree` and the scope metrics nest and time it like a Distlog scope.
 * Its attributes stay record attributes (with `span.kind`); each of its events becomes a
 * record of its own in the span (an `exception` event at ERROR). Links are not kept.
 *
 * Spans of Distlog's own scopes (instrumentation scope `@distlog/sdk`, exported when the
 * app has a tracer provider of its own) are left out: their records came as logs already.
 *
 * Field numbers: opentelemetry/proto/{collector/trace,trace}/v1 (trace_service.proto, trace.proto).
 */
export const SCOPE_END_EVENT = 'distlog.scope.end';
/** The instrumentation scope of the spans Distlog's SDK starts for its scopes (sdk/src/scope.ts). */
export const DISTLOG_SCOPE_TRACER = '@distlog/sdk';

const SPAN_KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const SPAN_KIND_BY_NAME = new Map(SPAN_KINDS.map((k, i) => [`SPAN_KIND_${k.toUpperCase()}`, i]));
const STATUS_BY_NAME = new Map([
  ['STATUS_CODE_UNSET', 0],
  ['STATUS_CODE_OK', 1],
  ['STATUS_CODE_ERROR', 2],
]);
const STATUS_ERROR = 2;
const SEVERITY_INFO = 9;
const SEVERITY_ERROR = 17;

/** A span as both encodings give it, before it becomes records. */
interface SpanData {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  flags: number;
  name: string;
  kind: number;
  start: bigint;
  end: bigint;
  attributes: Attributes;
  events: Array<{ time: bigint; name: string; attributes: Attributes }>;
  statusCode: number;
  statusMessage: string;
}

function newSpan(): SpanData {
  return {
    traceId: '',
    spanId: '',
    parentSpanId: '',
    flags: 0,
    name: '',
    kind: 0,
    start: 0n,
    end: 0n,
    attributes: emptyAttributes(),
    events: [],
    statusCode: 0,
    statusMessage: '',
  };
}

/**
 * The records a span stands for: its end record, then one per event. A span without a
 * trace or span id cannot be placed in a tree and is refused (alone).
 */
function spanRows(
  span: SpanData,
  resource: ResourceInfo,
  scope: ScopeInfo,
  receivedAt: bigint,
  json: boolean,
): LogRow[] {
  if (span.traceId === '') throw new DecodeError('a span needs a trace id').at(json ? 'traceId' : 'trace_id');
  if (span.spanId === '') throw new DecodeError('a span needs a span id').at(json ? 'spanId' : 'span_id');
  const end = span.end || span.start || receivedAt;
  const start = span.start || end;
  const durationMs = end > start ? Number((end - start) / 1000n) / 1000 : 0;
  const error = span.statusCode === STATUS_ERROR;
  const exception = span.events.find((e) => e.name === 'exception');
  const attributes: Attributes = {
    keys: [...span.attributes.keys],
    values: [...span.attributes.values],
    ...(span.attributes.truncated ? { truncated: true } : {}),
  };
  const put = (key: string, value: string) => {
    attributes.keys.push(key);
    attributes.values.push(value);
  };
  put('scope.name', span.name);
  put('scope.status', error ? 'error' : 'ok');
  put('scope.duration_ms', String(durationMs));
  if (span.parentSpanId) put('scope.parent_span_id', span.parentSpanId);
  if (span.kind > 1 && span.kind < SPAN_KINDS.length) put('span.kind', SPAN_KINDS[span.kind]);
  if (error) {
    const from = exception?.attributes;
    const at = (k: string) => (from ? from.values[from.keys.indexOf(k)] : undefined);
    const message = at('exception.message') || span.statusMessage;
    if (message) put('exception.message', message);
    for (const k of ['exception.type', 'exception.stacktrace']) {
      const v = at(k);
      if (v) put(k, v);
    }
  }
  const row = (
    time: bigint,
    severityNumber: number,
    body: string,
    eventName: string,
    attrs: Attributes,
  ): LogRow => {
    const r: LogRow = {
      timeUnixNano: time,
      observedTimeUnixNano: receivedAt,
      severityNumber,
      severityText: severityNumber === SEVERITY_ERROR ? 'ERROR' : 'INFO',
      body,
      attributes: attrs,
      droppedAttributesCount: 0,
      traceFlags: span.flags & 0xff,
      traceId: span.traceId,
      spanId: span.spanId,
      eventName,
      resource,
      scope,
    };
    markIfTruncated(r.attributes);
    return r;
  };
  const rows = [
    row(
      end,
      error ? SEVERITY_ERROR : SEVERITY_INFO,
      `${span.name} ${error ? 'failed' : 'finished'} in ${durationMs} ms`,
      SCOPE_END_EVENT,
      attributes,
    ),
  ];
  for (const e of span.events) {
    const isException = e.name === 'exception';
    const message = isException
      ? e.attributes.values[e.attributes.keys.indexOf('exception.message')]
      : undefined;
    rows.push(
      row(
        e.time || start,
        isException ? SEVERITY_ERROR : SEVERITY_INFO,
        message || e.name,
        e.name,
        e.attributes,
      ),
    );
  }
  return rows;
}

/** Hands a decoded span's records on, or refuses it alone (OTLP partial success). */
function takeSpan(
  decode: () => SpanData,
  resource: ResourceInfo,
  scope: ScopeInfo,
  out: DecodedRequest,
  limits: DecodeLimits,
  where: string,
  json = false,
): void {
  try {
    const span = decode();
    if (scope.name === DISTLOG_SCOPE_TRACER) return;
    for (const r of spanRows(span, resource, scope, limits.receivedAtUnixNano, json)) out.rows.push(r);
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
    rejectRecord(out, where, err);
  }
}

// ---- protobuf ----

/** Decodes an OTLP ExportTraceServiceRequest (protobuf) into scope records. */
export function decodeTracesRequestProtobuf(buf: Buffer, limits: DecodeLimits): DecodedRequest {
  const r = new WireReader(buf);
  const out: DecodedRequest = { rows: [], rejected: 0, rejectionMessage: '' };
  let index = 0;
  while (r.pos < r.end) {
    const tag = r.varint();
    if (tag >>> 3 !== 1) {
      r.skip(tag & 7);
      continue;
    }
    expectWireType('resource_spans', tag & 7, WIRE_LEN);
    try {
      decodeResourceSpans(r, r.lengthDelimitedEnd(), out, limits, index);
    } catch (err) {
      throw err instanceof DecodeError ? err.at(`resource_spans[${index}]`) : err;
    }
    index++;
  }
  return out;
}

function decodeResourceSpans(
  r: WireReader,
  end: number,
  out: DecodedRequest,
  limits: DecodeLimits,
  index: number,
): void {
  // The spans' scope sections are read after the resource, which may come last.
  const resource: ResourceInfo = {
    serviceName: UNKNOWN_SERVICE,
    attributes: emptyAttributes(),
    schemaUrl: '',
    droppedAttributesCount: 0,
  };
  const sections = layoutOf(
    r,
    end,
    ['resource', 'scope_spans'],
    (headerEnd) => decodeResource(r, headerEnd, resource, limits),
    (url) => (resource.schemaUrl = url),
  );
  sections.forEach(([from, to], i) => {
    r.pos = from;
    try {
      decodeScopeSpans(r, to, resource, out, limits, `resource_spans[${index}].scope_spans[${i}]`);
    } catch (err) {
      throw err instanceof DecodeError ? err.at(`scope_spans[${i}]`) : err;
    }
  });
  r.pos = end;
}

function decodeScopeSpans(
  r: WireReader,
  end: number,
  resource: ResourceInfo,
  out: DecodedRequest,
  limits: DecodeLimits,
  where: string,
): void {
  const scope: ScopeInfo = { name: '', version: '', attributes: emptyAttributes(), schemaUrl: '' };
  const spans = layoutOf(
    r,
    end,
    ['scope', 'spans'],
    (headerEnd) => decodeScope(r, headerEnd, scope, limits),
    (url) => (scope.schemaUrl = url),
  );
  spans.forEach(([from, to], i) => {
    r.pos = from;
    takeSpan(() => decodeSpan(r, to, limits), resource, scope, out, limits, `${where}.spans[${i}]`);
  });
  r.pos = end;
}

/**
 * ResourceSpans and ScopeSpans share a layout: field 1 the resource or scope (decoded by
 * `header`, given its end), field 2 the repeated children, field 3 a schema URL. Returns where
 * each child is, to be decoded once the whole message is read: field 1 may come after them.
 */
function layoutOf(
  r: WireReader,
  end: number,
  [headerName, childName]: [string, string],
  header: (headerEnd: number) => void,
  schemaUrl: (url: string) => void,
): Array<[number, number]> {
  const children: Array<[number, number]> = [];
  while (r.pos < end) {
    const tag = r.varint();
    switch (tag >>> 3) {
      case 1:
        expectWireType(headerName, tag & 7, WIRE_LEN);
        try {
          header(r.lengthDelimitedEnd());
        } catch (err) {
          throw err instanceof DecodeError ? err.at(headerName) : err;
        }
        break;
      case 2: {
        expectWireType(childName, tag & 7, WIRE_LEN);
        const childEnd = r.lengthDelimitedEnd();
        children.push([r.pos, childEnd]);
        r.pos = childEnd;
        break;
      }
      case 3:
        expectWireType('schema_url', tag & 7, WIRE_LEN);
        schemaUrl(r.string());
        break;
      default:
        r.skip(tag & 7);
    }
  }
  finishEnd(r, end);
  return children;
}

function decodeSpan(r: WireReader, end: number, limits: DecodeLimits): SpanData {
  const span = newSpan();
  while (r.pos < end) {
    const tag = r.varint();
    const wireType = tag & 7;
    switch (tag >>> 3) {
      case 1:
        expectWireType('trace_id', wireType, WIRE_LEN);
        span.traceId = validateId('trace_id', r.hex(), 32);
        break;
      case 2:
        expectWireType('span_id', wireType, WIRE_LEN);
        span.spanId = validateId('span_id', r.hex(), 16);
        break;
      case 4:
        expectWireType('parent_span_id', wireType, WIRE_LEN);
        span.parentSpanId = validateId('parent_span_id', r.hex(), 16);
        break;
      case 5:
        expectWireType('name', wireType, WIRE_LEN);
        span.name = r.repeatedString(STRINGS);
        break;
      case 6:
        expectWireType('kind', wireType, WIRE_VARINT);
        span.kind = r.varint();
        break;
      case 7:
        expectWireType('start_time_unix_nano', wireType, WIRE_FIXED64);
        span.start = r.fixed64();
        break;
      case 8:
        expectWireType('end_time_unix_nano', wireType, WIRE_FIXED64);
        span.end = r.fixed64();
        break;
      case 9:
        expectWireType('attributes', wireType, WIRE_LEN);
        decodeKeyValueInto(r, span.attributes, limits, 'attributes');
        break;
      case 11: {
        expectWireType('events', wireType, WIRE_LEN);
        const index = span.events.length;
        try {
          span.events.push(decodeEvent(r, r.lengthDelimitedEnd(), limits));
        } catch (err) {
          throw err instanceof DecodeError ? err.at(`events[${index}]`) : err;
        }
        break;
      }
      case 15: {
        expectWireType('status', wireType, WIRE_LEN);
        const statusEnd = r.lengthDelimitedEnd();
        while (r.pos < statusEnd) {
          const t = r.varint();
          if (t >>> 3 === 2) {
            expectWireType('status.message', t & 7, WIRE_LEN);
            span.statusMessage = r.string();
          } else if (t >>> 3 === 3) {
            expectWireType('status.code', t & 7, WIRE_VARINT);
            span.statusCode = r.varint();
          } else r.skip(t & 7);
        }
        finishEnd(r, statusEnd);
        break;
      }
      case 16:
        expectWireType('flags', wireType, WIRE_FIXED32);
        span.flags = r.fixed32();
        break;
      default:
        r.skip(wireType);
    }
  }
  finishEnd(r, end);
  return span;
}

function decodeEvent(r: WireReader, end: number, limits: DecodeLimits): SpanData['events'][number] {
  const event = { time: 0n, name: '', attributes: emptyAttributes() };
  while (r.pos < end) {
    const tag = r.varint();
    switch (tag >>> 3) {
      case 1:
        expectWireType('time_unix_nano', tag & 7, WIRE_FIXED64);
        event.time = r.fixed64();
        break;
      case 2:
        expectWireType('name', tag & 7, WIRE_LEN);
        event.name = r.repeatedString(STRINGS);
        break;
      case 3:
        expectWireType('attributes', tag & 7, WIRE_LEN);
        decodeKeyValueInto(r, event.attributes, limits, 'attributes');
        break;
      default:
        r.skip(tag & 7);
    }
  }
  finishEnd(r, end);
  return event;
}

// ---- JSON ----

/** Decodes an OTLP/JSON ExportTraceServiceRequest into scope records (the OTLP JSON mapping). */
export function decodeTracesRequestJson(text: string, limits: DecodeLimits): DecodedRequest {
  const request = parseRequest(text);
  const out: DecodedRequest = { rows: [], rejected: 0, rejectionMessage: '' };
  list(request, 'resourceSpans', 'resource_spans').forEach((item, i) =>
    wrap(() => {
      const json = asObject(item, 'ResourceSpans');
      const resource = resourceOf(json, limits);
      list(json, 'scopeSpans', 'scope_spans').forEach((sectionItem, j) =>
        wrap(() => {
          const section = asObject(sectionItem, 'ScopeSpans');
          const scope = scopeOf(section, limits);
          list(section, 'spans').forEach((spanItem, k) =>
            takeSpan(
              () => spanJson(asObject(spanItem, 'Span'), limits),
              resource,
              scope,
              out,
              limits,
              `resourceSpans[${i}].scopeSpans[${j}].spans[${k}]`,
              true,
            ),
          );
        }, `scopeSpans[${j}]`),
      );
    }, `resourceSpans[${i}]`),
  );
  return out;
}

function spanJson(json: Json, limits: DecodeLimits): SpanData {
  const span = newSpan();
  span.traceId = validateId('traceId', hexId(json, 'traceId', 'trace_id'), 32);
  span.spanId = validateId('spanId', hexId(json, 'spanId', 'span_id'), 16);
  span.parentSpanId = validateId('parentSpanId', hexId(json, 'parentSpanId', 'parent_span_id'), 16);
  span.flags = uint(json, 'flags');
  span.name = str(json, 'name');
  span.kind = enumValue(json.kind, SPAN_KIND_BY_NAME, 'kind');
  span.start = uint64(json, 'startTimeUnixNano', 'start_time_unix_nano');
  span.end = uint64(json, 'endTimeUnixNano', 'end_time_unix_nano');
  decodeAttributes(json, span.attributes, limits);
  list(json, 'events').forEach((item, i) =>
    wrap(() => {
      const e = asObject(item, 'Event');
      const attributes = emptyAttributes();
      decodeAttributes(e, attributes, limits);
      span.events.push({
        time: uint64(e, 'timeUnixNano', 'time_unix_nano'),
        name: str(e, 'name'),
        attributes,
      });
    }, `events[${i}]`),
  );
  if (json.status !== undefined && json.status !== null)
    wrap(() => {
      const status = asObject(json.status, 'Status');
      span.statusMessage = str(status, 'message');
      span.statusCode = enumValue(status.code, STATUS_BY_NAME, 'code');
    }, 'status');
  return span;
}

/** An enum as the JSON mapping allows it: its number or its name. */
function enumValue(v: unknown, byName: ReadonlyMap<string, number>, field: string): number {
  if (v === undefined || v === null) return 0;
  const n = typeof v === 'string' ? byName.get(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0)
    throw new DecodeError(
      `expected one of ${[...byName.keys()].join(', ')} or its number, got ${describe(v)}`,
    ).at(field);
  return n;
}
