import type { LogRow } from '../model/log-row';
import type { Stage } from './component';
import type { TableWriter } from '../sinks/clickhouse/table-writer';
import type { ForwardSink } from '../sinks/otlp/forward-sink';
import type { PartialSuccess } from '../receivers/otlp/responses';
import type { RouteDecision, Router } from '../router/router';
import type { CollectorMetrics } from '../telemetry/metrics';
import type { TailHub } from '../tail/tail-hub';

/**
 * Sees every record a request stored or dropped by rule (declared metrics): tallied as
 * the request is routed — the records are not kept — and counted by calling the returned
 * function once the request is stored (not when it was a resent one).
 */
export interface RecordObserver {
  tally(rows: readonly LogRow[]): () => void;
}

/**
 * What every receiver hands its decoded records to. consume() resolves once every
 * record is stored (in ClickHouse or the spool), queued for forwarding, or dropped
 * by rule, and rejects when records could not be stored and the client should retry.
 */
export type Consumer = Stage<Promise<PartialSuccess | undefined>>;

/** The parts a routing decision needs; swapped as a whole on reload. */
export interface Routes {
  router: Router;
  /** Tier name → its table writer. */
  writers: Map<string, TableWriter>;
  /** Destination name → its sink. */
  forwards: Map<string, ForwardSink>;
}

export class RoutingPipeline implements Consumer {
  /** The current request's routing decisions (reused: consume() runs to its end before the next). */
  private readonly decisions: RouteDecision[] = [];

  constructor(
    private routes: Routes,
    private readonly metrics: CollectorMetrics,
    /** Live tail: what was stored, as it is acknowledged. */
    private readonly tail?: TailHub,
    /** Metrics: every accepted record, dropped by rule or not, counted before the drop. */
    private readonly observer?: RecordObserver,
  ) {}

  /** Takes new rules/tiers/destinations; requests already routed finish with the old ones. */
  replaceRoutes(routes: Routes): void {
    this.routes = routes;
  }

  get current(): Routes {
    return this.routes;
  }

  /**
   * Routes the records and hands each part to its stage, all before the first await: the
   * records are encoded (table writers), queued (forward sinks), tallied (metrics) and, when
   * someone tails, rendered for the tail, so nothing holds them while the inserts run —
   * a request's records die young (profiled: keeping them until their batch was stored
   * promoted them to the old generation and made garbage collection a quarter of the
   * collector's time).
   */
  consume(rows: LogRow[], requestId = 0n): Promise<PartialSuccess | undefined> {
    const { router, writers, forwards } = this.routes;
    const toTier = new Map<string, LogRow[]>();
    const toDestination = new Map<string, LogRow[]>();
    const ruleCounts = new Map<string, number>();
    let dropped = 0;
    let rejected = 0;
    let rejectionMessage = '';
    let accepted: LogRow[];
    // The router shares one decision among records that match the same rules (router.ts):
    // when every record of the request got the same one — the usual case — the request is
    // handed on whole, without a list per tier built record by record.
    const decisions = this.decisions;
    for (const row of rows) decisions.push(router.route(row));
    const first = decisions[0];
    if (first !== undefined && first.rejected === undefined && decisions.every((d) => d === first)) {
      for (const rule of first.rules) ruleCounts.set(rule, rows.length);
      accepted = rows;
      if (first.dropped) dropped = rows.length;
      else {
        for (const tier of first.stores) toTier.set(tier, rows);
        for (const destination of first.forwards) toDestination.set(destination, rows);
      }
    } else {
      accepted = [];
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i];
        const decision = decisions[i];
        for (const rule of decision.rules) ruleCounts.set(rule, (ruleCounts.get(rule) ?? 0) + 1);
        if (decision.rejected !== undefined) {
          if (rejected++ === 0) rejectionMessage = decision.rejected;
          continue;
        }
        accepted.push(row);
        if (decision.dropped) {
          dropped++;
          continue;
        }
        for (const tier of decision.stores) push(toTier, tier, row);
        for (const destination of decision.forwards) push(toDestination, destination, row);
      }
    }
    decisions.length = 0;
    for (const [rule, n] of ruleCounts) this.metrics.routed.inc({ rule }, n);
    if (dropped > 0) this.metrics.dropped.inc({ reason: 'rule' }, dropped);
    for (const [destination, list] of toDestination) forwards.get(destination)?.consume(list);
    const stored: Array<Promise<boolean>> = [];
    for (const [tier, list] of toTier) {
      const writer = writers.get(tier)!;
      let done = writer.consume(list, requestId);
      // Rendered after consume(): the writer sets each record's pattern id as it encodes it.
      const event = this.tail?.render(writer.table, list);
      if (event) {
        const tail = this.tail!;
        done = done.then((added) => {
          if (added) tail.send(event);
          return added;
        });
      }
      stored.push(done);
    }
    const count = this.observer && accepted.length > 0 ? this.observer.tally(accepted) : undefined;
    return this.settle(stored, count, rows.length - rejected, rejected, rejectionMessage);
  }

  /** Waits for the request's stores (holding none of its records) and answers it. */
  private async settle(
    stored: Array<Promise<boolean>>,
    count: (() => void) | undefined,
    accepted: number,
    rejected: number,
    rejectionMessage: string,
  ): Promise<PartialSuccess | undefined> {
    const added = await Promise.all(stored);
    // A request its client sent again (stored already, or pending) is not counted again.
    const resent = added.length > 0 && added.every((a) => !a);
    if (count && !resent) count();
    this.metrics.accepted.inc({}, accepted);
    if (rejected === 0) return undefined;
    this.metrics.refused.inc({ reason: 'rule' }, rejected);
    return { rejectedLogRecords: rejected, errorMessage: `${rejected} refused by rule: ${rejectionMessage}` };
  }

  async flush(): Promise<void> {
    await Promise.all([...this.routes.writers.values()].map((w) => w.flush()));
  }
}

function push(map: Map<string, LogRow[]>, key: string, row: LogRow): void {
  const list = map.get(key);
  if (list) list.push(row);
  else map.set(key, [row]);
}
