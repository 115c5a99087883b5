import { hash } from 'node:crypto';
import type { LogRow } from '../../model/log-row';
import { LazyRow } from './lazy-row';

/**
 * The id of an OTLP request: the first 64 bits of the SHA-1 of its (decompressed) bytes.
 * An exporter that sends a request again — its answer was lost when a collector died —
 * sends the same bytes, so the same id; the table writers store a request id once
 * (sinks/clickhouse/request-ids.ts).
 *
 * 0 (no id, never deduplicated) when a record of the request has neither a time nor an
 * observed time: the collector dates such records on arrival, so two identical requests
 * are two sets of records, not one sent twice. Real exporters always date their records.
 */
export function requestIdOf(bytes: Buffer, rows: readonly LogRow[], receivedAtUnixNano: bigint): bigint {
  if (rows.length === 0) return 0n;
  for (const row of rows)
    if (row instanceof LazyRow ? row.datedOnArrival : row.timeUnixNano === receivedAtUnixNano) return 0n;
  // One-shot (no Hash object per request); the same digest as createHash('sha1').
  const id = hash('sha1', bytes, 'buffer').readBigUInt64LE(0);
  return id === 0n ? 1n : id;
}
