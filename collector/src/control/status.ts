import type http from 'node:http';
import type { ClickHouse } from '../storage/clickhouse';
import type { Spool } from '../helpers/spool';
import type { CollectorMetrics } from '../telemetry/metrics';
import type { TierConfig } from '../config/tiers';
import { tierTables } from '../storage/retention';
import { COLLECTOR_VERSION } from '../version';

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

/** What the status is read from; `ready` and `tiers` are read at each request (a reload changes them). */
export interface StatusSources {
  collectorId: string;
  ch: ClickHouse;
  spool: Spool | undefined;
  metrics: CollectorMetrics;
  startedAt: Date;
  ready: () => boolean;
  tiers: () => readonly TierConfig[];
  processes: () => number;
  /** False when the caller may not read (answered there). */
  readerAllowed: (req: http.IncomingMessage, res: http.ServerResponse) => boolean;
}

/** `GET /v1/status`: this collector's state in one answer (readers only), for `distlog status`. */
export function statusRoute(
  sources: StatusSources,
): (req: http.IncomingMessage, res: http.ServerResponse) => boolean {
  return (req, res) => {
    if ((req.url ?? '').split('?', 1)[0] !== '/v1/status' || req.method !== 'GET') return false;
    if (!sources.readerAllowed(req, res)) return true;
    void collectorStatus(sources).then((status) => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(status));
    });
    return true;
  };
}

async function collectorStatus(s: StatusSources): Promise<CollectorStatus> {
  const { ch, spool, metrics } = s;
  const tiers = s.tiers();
  let tables: CollectorStatus['tables'] = null;
  let tablesError: string | undefined;
  try {
    tables = await tierTables(ch, tiers);
  } catch (err) {
    tablesError = String((err as Error).message).split('\n')[0];
  }
  return {
    collector: s.collectorId,
    version: COLLECTOR_VERSION,
    node: process.version,
    startedAt: s.startedAt.toISOString(),
    uptimeSeconds: Math.round((Date.now() - s.startedAt.getTime()) / 1000),
    ready: s.ready(),
    clickhouse: { url: ch.url, database: ch.database, server: ch.features.version },
    tiers: tiers.map((t) => t.name),
    spool: spool
      ? {
          batches: spool.count,
          bytes: spool.bytes,
          full: spool.full,
          setAsideBatches: spool.setAside.batches,
          setAsideBytes: spool.setAside.bytes,
        }
      : null,
    records: {
      received: metrics.received.total(),
      accepted: metrics.accepted.total(),
      refused: metrics.refused.total(),
      dropped: metrics.dropped.total(),
      stored: metrics.stored.total(),
    },
    processes: s.processes(),
    tables,
    ...(tablesError ? { tablesError } : {}),
  };
}
