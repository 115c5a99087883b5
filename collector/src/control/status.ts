/**
 * One collector's state, as `GET /v1/status` answers it (readers only, like the live tail):
 * what `distlog status` shows for every running collector, through the query server.
 */
export interface CollectorStatus {
  collector: string;
  version: string;
  node: string;
  startedAt: string;
  uptimeSeconds: number;
  /** What /readyz says: false while the spool is full or the collector stops. */
  ready: boolean;
  clickhouse: { url: string; database: string; server: string };
  tiers: string[];
  /**
   * Each tier's table as ClickHouse has it now: gone (dropped by hand) or lacking columns the
   * collector writes (its inserts are refused). Null, with `tablesError`, when ClickHouse
   * could not be asked.
   */
  tables: Array<{ tier: string; table: string; exists: boolean; missingColumns: string[] }> | null;
  tablesError?: string;
  /** Null where the collector runs without a spool. */
  spool: {
    batches: number;
    bytes: number;
    full: boolean;
    /** Batches ClickHouse refused, set aside (replayer.ts): tried again at restart or reload. */
    setAsideBatches: number;
    setAsideBytes: number;
  } | null;
  /** Since the collector started. */
  records: { received: number; accepted: number; refused: number; dropped: number; stored: number };
  /** Processes sending to it now (level control's list). */
  processes: number;
}

/** A URL without the user and password it may carry (`http://user:secret@ch:8123`). */
export function withoutCredentials(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//');
  }
}
