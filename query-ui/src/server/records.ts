import { createHash } from 'node:crypto';
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
    id: recordId(
      r.tier,
      r.TimeUnixNano,
      r.ServiceName,
      resource['service.instance.id'] ?? '',
      fingerprint(r),
    ),
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

/**
 * A record's id: where to find it again (tier table, exact time, service, instance) and
 * which of the records there it is (`fingerprint`: a process writes several records in
 * one millisecond — a scope's end and the line before it — and SDKs date records to the
 * millisecond, so time, service and instance alone named two records at once, and the web
 * UI opened the other one), URL-safe. Ids without the fingerprint (older links) still parse.
 */
export function recordId(
  tier: string,
  timeUnixNano: string,
  service: string,
  instance: string,
  which?: string,
): string {
  const parts = which
    ? [tier, timeUnixNano, service, instance, which]
    : [tier, timeUnixNano, service, instance];
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

/** 48 bits of the SHA-1 of what tells records of one instance and millisecond apart. */
export function fingerprint(
  r: Pick<RecordRow, 'ScopeName' | 'EventName' | 'SpanId' | 'SeverityNumber' | 'Body' | 'ak' | 'av'>,
): string {
  const hash = createHash('sha1');
  for (const part of [r.ScopeName, r.EventName, r.SpanId, String(r.SeverityNumber), r.Body, ...r.ak, ...r.av])
    hash.update(part).update('\u0000');
  return hash.digest('hex').slice(0, 12);
}

export function parseRecordId(
  id: string,
): { tier: string; timeUnixNano: string; service: string; instance: string } | undefined {
  try {
    const parts = JSON.parse(Buffer.from(id, 'base64url').toString('utf8'));
    if (!Array.isArray(parts) || (parts.length !== 4 && parts.length !== 5)) return undefined;
    const [tier, timeUnixNano, service, instance] = parts;
    if (parts.every((x) => typeof x === 'string') && /^\d+$/.test(timeUnixNano)) {
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
