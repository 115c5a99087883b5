import type { ClickHouse } from '../../storage/clickhouse';
import { intLiteral, stringLiteral } from '../../storage/sql';

/**
 * Requests stored once. Every row carries the id of the OTLP request it came in
 * (receivers/otlp/request-id.ts); a materialized view per tier records each stored
 * request id in `request_ids` (migrations 0009, 0010). Before a batch is inserted, its
 * writer asks which of its requests that table already stored in the last
 * `windowSeconds`, and leaves those out: a client that sends a request again because its
 * collector died after storing it (SIGKILL, a crash, a lost answer) finds it stored once,
 * whichever collector the retry reaches. One small primary-key query per batch.
 *
 * Not covered: a retry that arrives while the first copy is still being inserted by
 * another collector (both see nothing stored yet); within one collector the writer
 * joins the retry to the copy in flight (TableWriter.write).
 */
export const DEFAULT_RESEND_WINDOW_MS = 15 * 60_000;

export async function storedRequestIds(
  ch: ClickHouse,
  table: string,
  ids: readonly bigint[],
  windowSeconds: number,
): Promise<Set<bigint>> {
  if (ids.length === 0) return new Set();
  const rows = await ch.query<{ id: string }>(
    `SELECT DISTINCT toString(RequestId) AS id FROM ${ch.database}.request_ids ` +
      `WHERE RequestId IN (${ids.map(intLiteral).join(', ')}) AND TableName = ${stringLiteral(table)} ` +
      `AND StoredAt >= now() - ${intLiteral(windowSeconds)}`,
  );
  return new Set(rows.map((r) => BigInt(r.id)));
}
