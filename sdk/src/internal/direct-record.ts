import type { HrTime, SpanContext } from '@opentelemetry/api';
import type { LogRecord } from '@opentelemetry/api-logs';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';

/**
 * Builds the exporter-ready record straight from a mapped pino line. Going through
 * the OTel Logger instead (LogRecordImpl, a Context per record for the trace ids,
 * per-attribute validation) measured about 2.3 µs a record here, this about a tenth.
 * Used only with Distlog's own provider, whose only processor is ours.
 */
export interface ScopeRef {
  name: string;
  version?: string;
  schemaUrl?: string;
}

export function directRecord(
  record: Omit<LogRecord, 'context'>,
  spanContext: SpanContext | undefined,
  resource: Resource,
  scope: ScopeRef,
  nowMs: number,
): ReadableLogRecord {
  return {
    hrTime: toHrTime(record.timestamp, nowMs),
    hrTimeObserved: msToHrTime(nowMs),
    spanContext,
    severityNumber: record.severityNumber,
    severityText: record.severityText,
    body: record.body,
    eventName: record.eventName,
    resource,
    instrumentationScope: scope,
    attributes: record.attributes ?? {},
    droppedAttributesCount: 0,
  };
}

// Records of one millisecond share one HrTime (never changed once made: the encoder only reads it).
let lastMs = NaN;
let lastHrTime: HrTime = [0, 0];

function msToHrTime(ms: number): HrTime {
  if (ms === lastMs) return lastHrTime;
  const seconds = Math.floor(ms / 1000);
  lastMs = ms;
  lastHrTime = [seconds, Math.round((ms - seconds * 1000) * 1e6)];
  return lastHrTime;
}

function toHrTime(time: LogRecord['timestamp'], nowMs: number): HrTime {
  if (typeof time === 'number') return msToHrTime(time);
  if (time instanceof Date) return msToHrTime(time.getTime());
  if (Array.isArray(time)) return time as HrTime;
  return msToHrTime(nowMs);
}
