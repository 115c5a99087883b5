import type { TailRecord } from '@distlog/collector';
import type { ApiRecord } from '../shared/api-types';

/** The record shape of the API and of `distlog search --json`. */
export type { ApiRecord };

export const RECORD_COLUMNS = `Timestamp, TimeUnixNano, SeverityNumber, SeverityText, ServiceName, ScopeName, EventName, Body,
  TraceId, SpanId, LogAttributes.key AS ak, LogAttributes.value AS av,
  ResourceAttributes.key AS rk, ResourceAttributes.value AS rv, _table AS tier, toString(PatternId) AS pid`;

/** A record as the query API reads it (RECORD_COLUMNS), and as the collectors push it for live tail. */
export type RecordRow = TailRecord;

export function toApiRecord(r: RecordRow): ApiRecord {
  const nanos = BigInt(r.TimeUnixNano);
  const resource = zip(r.rk, r.rv);
  return {
    id: recordId(r.tier, r.TimeUnixNano, r.ServiceName, resource['service.instance.id'] ?? ''),
    time: isoWithNanos(nanos),
    timeUnixNano: r.TimeUnixNano,
    service: r.ServiceName,
    severityText: r.SeverityText,
    severityNumber: r.SeverityNumber,
    scope: r.ScopeName,
    eventName: r.EventName,
    body: r.Body,
    traceId: r.TraceId,
    spanId: r.SpanId,
    attributes: zip(r.ak, r.av),
    resource,
    tier: r.tier,
    ...(r.pid !== undefined && r.pid !== '0' ? { patternId: patternHex(r.pid) } : {}),
  };
}

/** A pattern id (UInt64, as text) as the API shows it: hex without leading zeros. */
export function patternHex(decimal: string): string {
  return BigInt(decimal).toString(16);
}

/** A record's id: where to find it again (tier table, exact time, service, instance), URL-safe. */
export function recordId(tier: string, timeUnixNano: string, service: string, instance: string): string {
  return Buffer.from(JSON.stringify([tier, timeUnixNano, service, instance])).toString('base64url');
}

export function parseRecordId(
  id: string,
): { tier: string; timeUnixNano: string; service: string; instance: string } | undefined {
  try {
    const [tier, timeUnixNano, service, instance] = JSON.parse(Buffer.from(id, 'base64url').toString('utf8'));
    if (
      [tier, timeUnixNano, service, instance].every((x) => typeof x === 'string') &&
      /^\d+$/.test(timeUnixNano)
    ) {
      return { tier, timeUnixNano, service, instance };
    }
  } catch {
    // fall through
  }
  return undefined;
}

function zip(keys: readonly string[], values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < keys.length; i++) out[keys[i]] = values[i];
  return out;
}

function isoWithNanos(nanos: bigint): string {
  const ms = Number(nanos / 1_000_000n);
  const iso = new Date(ms).toISOString();
  const frac = (nanos % 1_000_000_000n).toString().padStart(9, '0');
  return `${iso.slice(0, 19)}.${frac}Z`;
}
