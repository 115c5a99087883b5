import type { Attributes, LogRow, ResourceInfo, ScopeInfo } from '../../model/log-row';
import { UNKNOWN_SERVICE, emptyAttributes, markIfTruncated } from '../../model/log-row';
import { jsonArray, jsonDouble, jsonObject } from './any-value';
import {
  WIRE_FIXED32,
  WIRE_FIXED64,
  WIRE_LEN,
  WIRE_VARINT,
  DecodeError,
  StringTable,
  WireReader,
  expectWireType,
} from '@distlog/proto';
import { RecordScratch, decodeRecordFast } from './lazy-row';
import type { DecodeLimits, DecodedRequest } from './decode-common';
import { finishRecordTimes, rejectRecord, validateId } from './decode-common';

/** Keys, names and short values repeat from record to record: decoded once (StringTable). */
export const STRINGS = new StringTable();
/** The records' own columns in RowBinary, request after request (lazy-row.ts). */
const SCRATCH = new RecordScratch(256 * 1024);

/**
 * Decodes an OTLP ExportLogsServiceRequest (protobuf) straight into LogRows.
 * Field numbers: opentelemetry/proto/{collector/logs,logs,common,resource}/v1 in proto/.
 * Unknown fields are skipped as protobuf requires; fields may arrive in any order.
 */
export function decodeLogsRequestProtobuf(buf: Buffer, limits: DecodeLimits): DecodedRequest {
  const r = new WireReader(buf);
  const out: DecodedRequest = { rows: [], rejected: 0, rejectionMessage: '' };
  const scratch = SCRATCH.next();
  let index = 0;
  while (r.pos < r.end) {
    const tag = r.varint();
    const field = tag >>> 3;
    if (field === 1) {
      expectWireType('resource_logs', tag & 7, WIRE_LEN);
      try {
        const end = r.lengthDelimitedEnd();
        decodeResourceLogs(r, end, out, limits, index, scratch);
      } catch (err) {
        throw err instanceof DecodeError ? err.at(`resource_logs[${index}]`) : err;
      }
      index++;
    } else {
      r.skip(tag & 7);
    }
  }
  return out;
}

function decodeResourceLogs(
  r: WireReader,
  end: number,
  out: DecodedRequest,
  limits: DecodeLimits,
  index: number,
  scratch: RecordScratch,
): void {
  // Rows point at this object; a `resource` field that arrives after `scope_logs` still fills it in.
  const resource: ResourceInfo = {
    serviceName: UNKNOWN_SERVICE,
    attributes: emptyAttributes(),
    schemaUrl: '',
    droppedAttributesCount: 0,
  };
  let scopeIndex = 0;
  while (r.pos < end) {
    const tag = r.varint();
    switch (tag >>> 3) {
      case 1: {
        expectWireType('resource', tag & 7, WIRE_LEN);
        try {
          const resourceEnd = r.lengthDelimitedEnd();
          decodeResource(r, resourceEnd, resource, limits);
        } catch (err) {
          throw err instanceof DecodeError ? err.at('resource') : err;
        }
        break;
      }
      case 2: {
        expectWireType('scope_logs', tag & 7, WIRE_LEN);
        try {
          const scopeEnd = r.lengthDelimitedEnd();
          decodeScopeLogs(
            r,
            scopeEnd,
            resource,
            out,
            limits,
            `resource_logs[${index}].scope_logs[${scopeIndex}]`,
            scratch,
          );
        } catch (err) {
          throw err instanceof DecodeError ? err.at(`scope_logs[${scopeIndex}]`) : err;
        }
        scopeIndex++;
        break;
      }
      case 3:
        expectWireType('schema_url', tag & 7, WIRE_LEN);
        resource.schemaUrl = r.string();
        break;
      default:
        r.skip(tag & 7);
    }
  }
  finishEnd(r, end);
}

export function decodeResource(
  r: WireReader,
  end: number,
  resource: ResourceInfo,
  limits: DecodeLimits,
): void {
  while (r.pos < end) {
    const tag = r.varint();
    switch (tag >>> 3) {
      case 1:
        expectWireType('attributes', tag & 7, WIRE_LEN);
        decodeKeyValueInto(r, resource.attributes, limits, 'attributes');
        break;
      case 2:
        expectWireType('dropped_attributes_count', tag & 7, WIRE_VARINT);
        resource.droppedAttributesCount = r.varint();
        break;
      default:
        r.skip(tag & 7);
    }
  }
  finishEnd(r, end);
  const i = resource.attributes.keys.indexOf('service.name');
  if (i >= 0 && resource.attributes.values[i] !== '') resource.serviceName = resource.attributes.values[i];
}

function decodeScopeLogs(
  r: WireReader,
  end: number,
  resource: ResourceInfo,
  out: DecodedRequest,
  limits: DecodeLimits,
  where: string,
  scratch: RecordScratch,
): void {
  const scope: ScopeInfo = { name: '', version: '', attributes: emptyAttributes(), schemaUrl: '' };
  let recordIndex = 0;
  while (r.pos < end) {
    const tag = r.varint();
    switch (tag >>> 3) {
      case 1: {
        expectWireType('scope', tag & 7, WIRE_LEN);
        try {
          const scopeEnd = r.lengthDelimitedEnd();
          decodeScope(r, scopeEnd, scope, limits);
        } catch (err) {
          throw err instanceof DecodeError ? err.at('scope') : err;
        }
        break;
      }
      case 2: {
        expectWireType('log_records', tag & 7, WIRE_LEN);
        let recordEnd: number;
        try {
          recordEnd = r.lengthDelimitedEnd();
        } catch (err) {
          throw err instanceof DecodeError ? err.at(`log_records[${recordIndex}]`) : err;
        }
        const recordStart = r.pos;
        const lazy = decodeRecordFast(
          r,
          recordEnd,
          resource,
          scope,
          limits,
          STRINGS,
          scratch,
          decodeLogRecord,
        );
        if (lazy) {
          out.rows.push(lazy);
          recordIndex++;
          break;
        }
        r.pos = recordStart;
        try {
          out.rows.push(decodeLogRecord(r, recordEnd, resource, scope, limits));
        } catch (err) {
          if (!(err instanceof DecodeError)) throw err;
          // The record's bytes are delimited: refuse it alone and go on after it.
          rejectRecord(out, where, err.at(`log_records[${recordIndex}]`));
          r.pos = recordEnd;
        }
        recordIndex++;
        break;
      }
      case 3:
        expectWireType('schema_url', tag & 7, WIRE_LEN);
        scope.schemaUrl = r.string();
        break;
      default:
        r.skip(tag & 7);
    }
  }
  finishEnd(r, end);
}

export function decodeScope(r: WireReader, end: number, scope: ScopeInfo, limits: DecodeLimits): void {
  while (r.pos < end) {
    const tag = r.varint();
    switch (tag >>> 3) {
      case 1:
        expectWireType('name', tag & 7, WIRE_LEN);
        scope.name = r.repeatedString(STRINGS);
        break;
      case 2:
        expectWireType('version', tag & 7, WIRE_LEN);
        scope.version = r.repeatedString(STRINGS);
        break;
      case 3:
        expectWireType('attributes', tag & 7, WIRE_LEN);
        decodeKeyValueInto(r, scope.attributes, limits, 'attributes');
        break;
      default:
        r.skip(tag & 7);
    }
  }
  finishEnd(r, end);
}

function decodeLogRecord(
  r: WireReader,
  end: number,
  resource: ResourceInfo,
  scope: ScopeInfo,
  limits: DecodeLimits,
): LogRow {
  const row: LogRow = {
    timeUnixNano: 0n,
    observedTimeUnixNano: 0n,
    severityNumber: 0,
    severityText: '',
    body: '',
    attributes: emptyAttributes(),
    droppedAttributesCount: 0,
    traceFlags: 0,
    traceId: '',
    spanId: '',
    eventName: '',
    resource,
    scope,
  };
  while (r.pos < end) {
    const tag = r.varint();
    const wireType = tag & 7;
    switch (tag >>> 3) {
      case 1:
        expectWireType('time_unix_nano', wireType, WIRE_FIXED64);
        row.timeUnixNano = r.fixed64();
        break;
      case 2:
        expectWireType('severity_number', wireType, WIRE_VARINT);
        row.severityNumber = r.varint();
        if (row.severityNumber > 24) {
          throw new DecodeError(`${row.severityNumber} is not a SeverityNumber (0-24)`).at('severity_number');
        }
        break;
      case 3:
        expectWireType('severity_text', wireType, WIRE_LEN);
        row.severityText = r.repeatedString(STRINGS);
        break;
      case 5: {
        expectWireType('body', wireType, WIRE_LEN);
        try {
          const bodyEnd = r.lengthDelimitedEnd();
          row.body = decodeAnyValue(r, bodyEnd, false, 1, limits);
        } catch (err) {
          throw err instanceof DecodeError ? err.at('body') : err;
        }
        break;
      }
      case 6:
        expectWireType('attributes', wireType, WIRE_LEN);
        decodeKeyValueInto(r, row.attributes, limits, 'attributes');
        break;
      case 7:
        expectWireType('dropped_attributes_count', wireType, WIRE_VARINT);
        row.droppedAttributesCount = r.varint();
        break;
      case 8:
        expectWireType('flags', wireType, WIRE_FIXED32);
        row.traceFlags = r.fixed32() & 0xff;
        break;
      case 9:
        expectWireType('trace_id', wireType, WIRE_LEN);
        row.traceId = validateId('trace_id', r.hex(), 32);
        break;
      case 10:
        expectWireType('span_id', wireType, WIRE_LEN);
        row.spanId = validateId('span_id', r.hex(), 16);
        break;
      case 11:
        expectWireType('observed_time_unix_nano', wireType, WIRE_FIXED64);
        row.observedTimeUnixNano = r.fixed64();
        break;
      case 12:
        expectWireType('event_name', wireType, WIRE_LEN);
        row.eventName = r.repeatedString(STRINGS);
        break;
      default:
        r.skip(wireType);
    }
  }
  finishEnd(r, end);
  finishRecordTimes(row, limits.receivedAtUnixNano);
  markIfTruncated(row.attributes);
  return row;
}

/** Decodes one KeyValue message (the reader is at its length prefix) into parallel arrays. */
export function decodeKeyValueInto(
  r: WireReader,
  into: Attributes,
  limits: DecodeLimits,
  field: string,
): void {
  const end = r.lengthDelimitedEnd();
  const index = into.keys.length;
  let key = '';
  let value = '';
  try {
    while (r.pos < end) {
      const tag = r.varint();
      switch (tag >>> 3) {
        case 1:
          expectWireType('key', tag & 7, WIRE_LEN);
          key = r.repeatedString(STRINGS);
          break;
        case 2: {
          expectWireType('value', tag & 7, WIRE_LEN);
          const valueEnd = r.lengthDelimitedEnd();
          value = decodeAnyValue(r, valueEnd, false, 1, limits);
          break;
        }
        default:
          r.skip(tag & 7);
      }
    }
    finishEnd(r, end);
  } catch (err) {
    throw err instanceof DecodeError ? err.at(`${field}[${index}]`) : err;
  }
  into.keys.push(key);
  if (limits.maxAttributeValueLength > 0 && value.length > limits.maxAttributeValueLength) {
    into.values.push(value.slice(0, limits.maxAttributeValueLength));
    into.truncated = true;
  } else {
    into.values.push(value);
  }
}

/**
 * Renders an AnyValue (reader inside its bytes, `end` its end) as text; see any-value.ts.
 * `nested` selects the JSON form used inside arrays and kvlists.
 */
function decodeAnyValue(
  r: WireReader,
  end: number,
  nested: boolean,
  depth: number,
  limits: DecodeLimits,
): string {
  if (depth > limits.maxNestingDepth) {
    throw new DecodeError(`values nested deeper than ${limits.maxNestingDepth} levels`);
  }
  let out = nested ? 'null' : '';
  while (r.pos < end) {
    const tag = r.varint();
    const wireType = tag & 7;
    switch (tag >>> 3) {
      case 1: {
        expectWireType('string_value', wireType, WIRE_LEN);
        const s = r.repeatedString(STRINGS);
        out = nested ? JSON.stringify(s) : s;
        break;
      }
      case 2:
        expectWireType('bool_value', wireType, WIRE_VARINT);
        out = r.varint() !== 0 ? 'true' : 'false';
        break;
      case 3:
        expectWireType('int_value', wireType, WIRE_VARINT);
        out = r.int64Text();
        break;
      case 4: {
        expectWireType('double_value', wireType, WIRE_FIXED64);
        const d = r.double();
        out = nested ? jsonDouble(d) : String(d);
        break;
      }
      case 5: {
        expectWireType('array_value', wireType, WIRE_LEN);
        const arrayEnd = r.lengthDelimitedEnd();
        const items: string[] = [];
        while (r.pos < arrayEnd) {
          const itemTag = r.varint();
          if (itemTag >>> 3 === 1) {
            expectWireType('values', itemTag & 7, WIRE_LEN);
            const itemEnd = r.lengthDelimitedEnd();
            items.push(decodeAnyValue(r, itemEnd, true, depth + 1, limits));
          } else {
            r.skip(itemTag & 7);
          }
        }
        out = jsonArray(items);
        break;
      }
      case 6: {
        expectWireType('kvlist_value', wireType, WIRE_LEN);
        const listEnd = r.lengthDelimitedEnd();
        const keys: string[] = [];
        const values: string[] = [];
        while (r.pos < listEnd) {
          const itemTag = r.varint();
          if (itemTag >>> 3 === 1) {
            expectWireType('values', itemTag & 7, WIRE_LEN);
            const kvEnd = r.lengthDelimitedEnd();
            let key = '';
            let value = 'null';
            while (r.pos < kvEnd) {
              const kvTag = r.varint();
              if (kvTag >>> 3 === 1) {
                expectWireType('key', kvTag & 7, WIRE_LEN);
                key = r.repeatedString(STRINGS);
              } else if (kvTag >>> 3 === 2) {
                expectWireType('value', kvTag & 7, WIRE_LEN);
                const valueEnd = r.lengthDelimitedEnd();
                value = decodeAnyValue(r, valueEnd, true, depth + 1, limits);
              } else {
                r.skip(kvTag & 7);
              }
            }
            keys.push(key);
            values.push(value);
          } else {
            r.skip(itemTag & 7);
          }
        }
        out = jsonObject(keys, values);
        break;
      }
      case 7: {
        expectWireType('bytes_value', wireType, WIRE_LEN);
        const b = r.base64();
        out = nested ? JSON.stringify(b) : b;
        break;
      }
      default:
        r.skip(wireType);
    }
  }
  finishEnd(r, end);
  return out;
}

export function finishEnd(r: WireReader, end: number): void {
  if (r.pos !== end) throw new DecodeError('field runs past the end of its enclosing message');
}
