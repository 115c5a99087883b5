import type { ClickHouse } from '../../storage/clickhouse';
import { identifier, intLiteral, stringLiteral } from '../../storage/sql';

/**
 * Requests stored once. Every row carries the id of the OTLP request it came in
 * (receivers/otlp/request-id.ts); a materialized view per tier records each stored
 * request id in `request_ids` (migrations 0009, 0010). Before a batch is inserted, its
 * writer asks which of its requests that table already stored in the last
 * `windowSeconds`, and leaves those out: a client that sends a request again because its
 * collector died after storing it (SIGKILL, a crash, a lost answer) finds it stored once,
 * whichever collector the retry reaches. One small query per batch.
 *
 * A retry can also arrive while the first copy is still being inserted by the collector
 * that died (ClickHouse finishes an insert whose body it received, after its client is
 * gone). So every insert names its requests in a comment (`requestsComment`), which
 * ClickHouse shows in `system.processes` while the insert runs; the same query asks for
 * running inserts into the table that name any of the batch's requests, and while there
 * are some it waits (up to IN_FLIGHT_WAIT_MS) and asks again — then the first copy is
 * stored and the retry is left out, or its insert failed and the retry is inserted.
 *
 * Not covered: an insert naming more than MAX_NAMED requests (it carries no comment); a
 * running insert on another server of a cluster than the one asked; within one collector
 * the writer joins the retry to the copy in flight (TableWriter.write) before this.
 */
export const DEFAULT_RESEND_WINDOW_MS = 15 * 60_000;

/** How long a batch waits for a running insert of one of its requests (ms). */
export const IN_FLIGHT_WAIT_MS = 30_000;
/** Inserts of more requests than this carry no comment (the query text stays short). */
const MAX_NAMED = 512;
const MARK = 'distlog-requests:';

/** A request id as the comment writes it: 16 hex digits. */
function hex(id: bigint): string {
  return id.toString(16).padStart(16, '0');
}

/** The comment an insert of these requests carries (empty when none, or too many to name). */
export function requestsComment(ids: readonly bigint[]): string {
  const named = ids.filter((id) => id !== 0n);
  if (named.length === 0 || named.length > MAX_NAMED) return '';
  return `/* ${MARK},${named.map(hex).join(',')}, */`;
}

export async function storedRequestIds(
  ch: ClickHouse,
  table: string,
  ids: readonly bigint[],
  windowSeconds: number,
  waitMs = IN_FLIGHT_WAIT_MS,
): Promise<Set<bigint>> {
  if (ids.length === 0) return new Set();
  const insertPrefix = `INSERT INTO ${ch.database}.${identifier(table, 'table name')} `;
  const stored =
    `SELECT DISTINCT toString(RequestId) AS id, toUInt8(0) AS running FROM ${ch.database}.request_ids ` +
    `WHERE RequestId IN (${ids.map(intLiteral).join(', ')}) AND TableName = ${stringLiteral(table)} ` +
    `AND StoredAt >= now() - ${intLiteral(windowSeconds)}`;
  const sql =
    `${stored} UNION ALL ` +
    `SELECT named AS id, toUInt8(1) AS running FROM system.processes ` +
    `ARRAY JOIN [${ids.map((id) => stringLiteral(hex(id))).join(', ')}] AS named ` +
    `WHERE startsWith(query, ${stringLiteral(insertPrefix)}) AND position(query, ${stringLiteral(MARK)}) > 0 ` +
    `AND position(query, concat(',', named, ',')) > 0`;
  const deadline = Date.now() + waitMs;
  for (;;) {
    let rows: Array<{ id: string; running: number | string }>;
    try {
      rows = await ch.query(sql);
    } catch (err) {
      // A server that does not let this user read system.processes: the stored ones only.
      if (!/processes/i.test(String(err))) throw err;
      rows = await ch.query(stored);
    }
    const running = rows.some((r) => Number(r.running) === 1);
    if (!running || Date.now() >= deadline)
      return new Set(rows.filter((r) => Number(r.running) === 0).map((r) => BigInt(r.id)));
    await new Promise((r) => setTimeout(r, 100));
  }
}
