import type { Attributes, LogRow, ResourceInfo, ScopeInfo } from '../../model/log-row';
import { UNKNOWN_SERVICE, emptyAttributes, markIfTruncated } from '../../model/log-row';
import { jsonArray, jsonDouble, jsonObject } from './any-value';
import type { DecodeLimits, DecodedRequest } from './decode-common';
import { finishRecordTimes, rejectRecord, validateId } from './decode-common';
import { DecodeError } from '@distlog/proto';
import { SEVERITY_NUMBER_BY_NAME } from './severity-names';

export type Json = Record<string, unknown>;

/**
 * Decodes an OTLP/JSON ExportLogsServiceRequest (the OTLP JSON mapping: lowerCamelCase
 * keys — original snake_case names accepted too — hex trace/span ids, 64-bit integers
 * as strings or numbers, enums as numbers or names). Unknown keys are ignored, as the
 * specification requires.
 */
export function decodeLogsRequestJson(text: string, limits: DecodeLimits): DecodedRequest {
  const request = parseRequest(text);
  const out: DecodedRequest = { rows: [], rejected: 0, rejectionMessage: '' };
  list(request, 'resourceLogs', 'resource_logs').forEach((item, i) => {
    try {
      decodeResourceLogs(asObject(item, 'ResourceLogs'), out, limits, i);
    } catch (err) {
      throw err instanceof DecodeError ? err.at(`resourceLogs[${i}]`) : err;
    }
  });
  return out;
}

function decodeResourceLogs(json: Json, out: DecodedRequest, limits: DecodeLimits, index: number): void {
  const resource = resourceOf(json, limits);
  list(json, 'scopeLogs', 'scope_logs').forEach((item, i) => {
    try {
      decodeScopeLogs(
        asObject(item, 'ScopeLogs'),
        resource,
        out,
        limits,
        `resourceLogs[${index}].scopeLogs[${i}]`,
      );
    } catch (err) {
      throw err instanceof DecodeError ? err.at(`scopeLogs[${i}]`) : err;
    }
  });
}

function decodeScopeLogs(
  json: Json,
  resource: ResourceInfo,
  out: DecodedRequest,
  limits: DecodeLimits,
  where: string,
): void {
  const scope = scopeOf(json, limits);
  list(json, 'logRecords', 'log_records').forEach((item, i) => {
    try {
      out.rows.push(decodeLogRecord(asObject(item, 'LogRecord'), resource, scope, limits));
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      rejectRecord(out, where, err.at(`logRecords[${i}]`));
    }
  });
}

/** The `resource` (and `schemaUrl`) of a ResourceLogs or ResourceSpans object. */
export function resourceOf(json: Json, limits: DecodeLimits): ResourceInfo {
  const resource: ResourceInfo = {
    serviceName: UNKNOWN_SERVICE,
    attributes: emptyAttributes(),
    schemaUrl: str(json, 'schemaUrl', 'schema_url'),
    droppedAttributesCount: 0,
  };
  const resourceJson = json.resource;
  if (resourceJson !== undefined && resourceJson !== null) {
    try {
      const obj = asObject(resourceJson, 'Resource');
      decodeAttributes(obj, resource.attributes, limits);
      resource.droppedAttributesCount = uint(obj, 'droppedAttributesCount', 'dropped_attributes_count');
    } catch (err) {
      throw err instanceof DecodeError ? err.at('resource') : err;
    }
    const i = resource.attributes.keys.indexOf('service.name');
    if (i >= 0 && resource.attributes.values[i] !== '') resource.serviceName = resource.attributes.values[i];
  }
  return resource;
}

/** The `scope` (and `schemaUrl`) of a ScopeLogs or ScopeSpans object. */
export function scopeOf(json: Json, limits: DecodeLimits): ScopeInfo {
  const scope: ScopeInfo = {
    name: '',
    version: '',
    attributes: emptyAttributes(),
    schemaUrl: str(json, 'schemaUrl', 'schema_url'),
  };
  if (json.scope !== undefined && json.scope !== null) {
    try {
      const obj = asObject(json.scope, 'InstrumentationScope');
      scope.name = str(obj, 'name');
      scope.version = str(obj, 'version');
      decodeAttributes(obj, scope.attributes, limits);
    } catch (err) {
      throw err instanceof DecodeError ? err.at('scope') : err;
    }
  }
  return scope;
}

function decodeLogRecord(json: Json, resource: ResourceInfo, scope: ScopeInfo, limits: DecodeLimits): LogRow {
  const row: LogRow = {
    timeUnixNano: uint64(json, 'timeUnixNano', 'time_unix_nano'),
    observedTimeUnixNano: uint64(json, 'observedTimeUnixNano', 'observed_time_unix_nano'),
    severityNumber: severity(json),
    severityText: str(json, 'severityText', 'severity_text'),
    body: '',
    attributes: emptyAttributes(),
    droppedAttributesCount: uint(json, 'droppedAttributesCount', 'dropped_attributes_count'),
    traceFlags: uint(json, 'flags') & 0xff,
    traceId: validateId('traceId', hexId(json, 'traceId', 'trace_id'), 32),
    spanId: validateId('spanId', hexId(json, 'spanId', 'span_id'), 16),
    eventName: str(json, 'eventName', 'event_name'),
    resource,
    scope,
  };
  if (json.body !== undefined && json.body !== null) {
    try {
      row.body = anyValue(json.body, false, 1, limits);
    } catch (err) {
      throw err instanceof DecodeError ? err.at('body') : err;
    }
  }
  decodeAttributes(json, row.attributes, limits);
  finishRecordTimes(row, limits.receivedAtUnixNano);
  markIfTruncated(row.attributes);
  return row;
}

export function decodeAttributes(json: Json, into: Attributes, limits: DecodeLimits): void {
  list(json, 'attributes').forEach((item, i) => {
    try {
      const kv = asObject(item, 'KeyValue');
      const value = kv.value === undefined || kv.value === null ? '' : anyValue(kv.value, false, 1, limits);
      into.keys.push(str(kv, 'key'));
      if (limits.maxAttributeValueLength > 0 && value.length > limits.maxAttributeValueLength) {
        into.values.push(value.slice(0, limits.maxAttributeValueLength));
        into.truncated = true;
      } else {
        into.values.push(value);
      }
    } catch (err) {
      throw err instanceof DecodeError ? err.at(`attributes[${i}]`) : err;
    }
  });
}

function anyValue(raw: unknown, nested: boolean, depth: number, limits: DecodeLimits): string {
  if (depth > limits.maxNestingDepth) {
    throw new DecodeError(`values nested deeper than ${limits.maxNestingDepth} levels`);
  }
  const json = asObject(raw, 'AnyValue');
  if ('stringValue' in json || 'string_value' in json) {
    const s = str(json, 'stringValue', 'string_value');
    return nested ? JSON.stringify(s) : s;
  }
  if ('boolValue' in json || 'bool_value' in json) {
    const b = pick(json, 'boolValue', 'bool_value');
    if (typeof b !== 'boolean')
      throw new DecodeError(`expected true or false, got ${describe(b)}`).at('boolValue');
    return b ? 'true' : 'false';
  }
  if ('intValue' in json || 'int_value' in json) {
    return int64Text(pick(json, 'intValue', 'int_value'), 'intValue');
  }
  if ('doubleValue' in json || 'double_value' in json) {
    const d = doubleOf(pick(json, 'doubleValue', 'double_value'));
    return nested ? jsonDouble(d) : String(d);
  }
  if ('arrayValue' in json || 'array_value' in json) {
    const arr = asObject(pick(json, 'arrayValue', 'array_value') ?? {}, 'ArrayValue');
    return jsonArray(
      list(arr, 'values').map((v, i) =>
        wrap(() => anyValue(v, true, depth + 1, limits), `arrayValue.values[${i}]`),
      ),
    );
  }
  if ('kvlistValue' in json || 'kvlist_value' in json) {
    const kvl = asObject(pick(json, 'kvlistValue', 'kvlist_value') ?? {}, 'KeyValueList');
    const keys: string[] = [];
    const values: string[] = [];
    list(kvl, 'values').forEach((item, i) =>
      wrap(() => {
        const kv = asObject(item, 'KeyValue');
        keys.push(str(kv, 'key'));
        values.push(
          kv.value === undefined || kv.value === null ? 'null' : anyValue(kv.value, true, depth + 1, limits),
        );
      }, `kvlistValue.values[${i}]`),
    );
    return jsonObject(keys, values);
  }
  if ('bytesValue' in json || 'bytes_value' in json) {
    const b = str(json, 'bytesValue', 'bytes_value');
    return nested ? JSON.stringify(b) : b;
  }
  return nested ? 'null' : '';
}

export function wrap<T>(fn: () => T, segment: string): T {
  try {
    return fn();
  } catch (err) {
    throw err instanceof DecodeError ? err.at(segment) : err;
  }
}

function pick(json: Json, camel: string, snake?: string): unknown {
  const v = json[camel];
  return v !== undefined || snake === undefined ? v : json[snake];
}

export function asObject(value: unknown, what: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DecodeError(`expected a ${what} object, got ${describe(value)}`);
  }
  return value as Json;
}

export function list(json: Json, camel: string, snake?: string): unknown[] {
  const v = pick(json, camel, snake);
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new DecodeError(`expected an array, got ${describe(v)}`).at(camel);
  return v;
}

export function str(json: Json, camel: string, snake?: string): string {
  const v = pick(json, camel, snake);
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new DecodeError(`expected a string, got ${describe(v)}`).at(camel);
  return v;
}

export function uint(json: Json, camel: string, snake?: string): number {
  const v = pick(json, camel, snake);
  if (v === undefined || v === null) return 0;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new DecodeError(`expected an unsigned 32-bit integer, got ${describe(v)}`).at(camel);
  }
  return n;
}

export function uint64(json: Json, camel: string, snake: string): bigint {
  const v = pick(json, camel, snake);
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'string' && /^\d{1,20}$/.test(v)) {
    const big = BigInt(v);
    if (big <= 0xffffffffffffffffn) return big;
  }
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  throw new DecodeError(`expected an unsigned 64-bit integer (decimal string), got ${describe(v)}`).at(camel);
}

function int64Text(v: unknown, field: string): string {
  if (typeof v === 'string' && /^-?\d{1,20}$/.test(v)) {
    const big = BigInt(v);
    if (big >= -(2n ** 63n) && big < 2n ** 63n) return big.toString();
  }
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  throw new DecodeError(`expected a 64-bit integer, got ${describe(v)}`).at(field);
}

function doubleOf(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v === 'NaN' || v === 'Infinity' || v === '-Infinity') return Number(v);
  throw new DecodeError(`expected a number, got ${describe(v)}`).at('doubleValue');
}

function severity(json: Json): number {
  const v = pick(json, 'severityNumber', 'severity_number');
  if (v === undefined || v === null) return 0;
  const n = typeof v === 'string' ? SEVERITY_NUMBER_BY_NAME.get(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 24) {
    throw new DecodeError(`expected a SeverityNumber (0-24 or its name), got ${describe(v)}`).at(
      'severityNumber',
    );
  }
  return n;
}

export function hexId(json: Json, camel: string, snake: string): string {
  const v = str(json, camel, snake);
  if (!/^[0-9a-fA-F]*$/.test(v) || v.length % 2 !== 0) {
    throw new DecodeError(`expected a hex string, got ${describe(v)}`).at(camel);
  }
  return v.toLowerCase();
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

/** The request object of an OTLP/JSON body. */
export function parseRequest(text: string): Json {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new DecodeError(`body is not valid JSON (${(err as Error).message})`);
  }
  return asObject(parsed, 'request');
}
