import type { MetricConfig, MetricOptions } from '../config/metrics-config';
import type { ClickHouse } from '../storage/clickhouse';
import type { LogRow } from '../model/log-row';
import type { CollectorMetrics } from '../telemetry/metrics';
import { log } from '../helpers/log';
import type { MetricPoint } from './rollup';
import { MetricRollup } from './rollup';
import { PrometheusView } from './prometheus';
import { BUCKET_WIDTHS, coarseBucket } from './sketch';
import { METRIC_DEFINITIONS_TABLE, METRIC_TABLES } from '../storage/metric-tables';
import type { Component } from '../pipeline/component';

/** Seconds of each rollup table's time unit (its rows start at multiples of it, UTC). */
const UNIT_SECONDS: Record<string, number> = { metric_minutes: 60, metric_hours: 3600, metric_days: 86_400 };

/**
 * Writes the declared metrics: what the rollup gathered goes to `metric_minutes`,
 * `metric_hours` and `metric_days` (coarser buckets, see sketch.ts) every flush interval
 * and at stop, the definitions to `metric_definitions` at start and on every reload.
 * Rows that could not be written stay, per table, and are written with the next flush
 * (the tables sum rows of one key anyway), up to maxPending rows a table; past that the
 * oldest go, counted in distlog_metric_points_dropped_total.
 */
export class MetricSink implements Component {
  private rollup: MetricRollup;
  private readonly pending = new Map<string, Array<Record<string, unknown>>>(
    METRIC_TABLES.map((t) => [t, []]),
  );
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private flushing: Promise<void> = Promise.resolve();
  private failing = false;
  readonly prometheus = new PrometheusView();

  constructor(
    private readonly ch: ClickHouse,
    configs: readonly MetricConfig[],
    private options: MetricOptions,
    private readonly telemetry: CollectorMetrics,
    private readonly collectorId: string,
    private readonly maxPending = 200_000,
  ) {
    this.rollup = this.makeRollup(configs);
  }

  private makeRollup(configs: readonly MetricConfig[]): MetricRollup {
    return new MetricRollup(configs, this.options.maxSeries, (message, fields) =>
      log('warn', message, fields),
    );
  }

  get definitions(): readonly MetricConfig[] {
    return this.rollup.definitions;
  }

  /**
   * Records of one request, stored or dropped by rule: tallied now, counted into every
   * metric they match when the returned function is called (once the request is stored).
   * After a reload in between, the tally counts under the definitions it was made with:
   * the old rollup's points join the next write.
   */
  tally(rows: readonly LogRow[]): () => void {
    const rollup = this.rollup;
    const tally = rollup.tally(rows);
    return () => {
      rollup.merge(tally);
      if (rollup !== this.rollup) this.take(rollup);
    };
  }

  async start(): Promise<void> {
    if (this.timer || this.stopped) return;
    await this.writeDefinitions();
    this.schedule();
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      void this.flush().finally(() => {
        if (this.timer) this.schedule();
      });
    }, this.options.flushIntervalMs).unref();
  }

  /** New definitions (SIGHUP): what the old ones gathered is written first; stored rollups stay. */
  async replace(configs: readonly MetricConfig[], options: MetricOptions): Promise<void> {
    const before = this.rollup;
    this.options = options;
    this.rollup = this.makeRollup(configs);
    this.take(before);
    await this.flush();
    await this.writeDefinitions();
  }

  private take(rollup: MetricRollup): void {
    const { points, missing, overflowed } = rollup.drain();
    for (const [metric, n] of missing) this.telemetry.metricValuesMissing.inc({ metric }, n);
    for (const [metric, n] of overflowed) this.telemetry.metricSeriesOverflow.inc({ metric }, n);
    this.prometheus.add(points, rollup.definitions);
    for (const table of METRIC_TABLES) {
      const rows = this.pending.get(table)!;
      rows.push(...atLevel(points, table).map(toRow));
      if (rows.length > this.maxPending) {
        const dropped = rows.length - this.maxPending;
        rows.splice(0, dropped);
        this.telemetry.metricPointsDropped.inc({ table }, dropped);
      }
    }
  }

  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.write());
    return this.flushing;
  }

  private async write(): Promise<void> {
    this.take(this.rollup);
    for (const table of METRIC_TABLES) {
      const rows = this.pending.get(table)!;
      if (rows.length === 0) continue;
      this.pending.set(table, []);
      try {
        await this.ch.insertJson(table, rows);
        this.telemetry.metricPointsWritten.inc({ table }, rows.length);
        if (this.failing) log('info', 'metric rollups are written again', { table, rows: rows.length });
        this.failing = false;
      } catch (err) {
        this.pending.set(table, rows.concat(this.pending.get(table)!));
        if (!this.failing)
          log('warn', 'metric rollups not written; kept and tried again with the next flush', {
            table,
            rows: rows.length,
            error: String(err),
          });
        this.failing = true;
      }
    }
  }

  private async writeDefinitions(): Promise<void> {
    const version = Date.now();
    try {
      await this.ch.insertJson(
        METRIC_DEFINITIONS_TABLE,
        this.rollup.definitions.map((m) => ({
          Name: m.name,
          Kind: m.kind,
          Value: m.value ?? '',
          By: m.by,
          RetentionDays: m.retentionDays,
          Description: m.description,
          Unit: m.unit,
          MatchText: m.matchText,
          Collector: this.collectorId,
          Version: version,
          UpdatedAt: Math.floor(version / 1000),
        })),
      );
    } catch (err) {
      log(
        'warn',
        'metric definitions not written: `distlog metrics` will not list them until the next start or reload',
        {
          error: String(err),
        },
      );
    }
  }

  /** Writes what is gathered and stops the timer. */
  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}

/** The points summed per the table's time unit, with its bucket width (the minute points themselves for metric_minutes). */
function atLevel(points: readonly MetricPoint[], table: string): MetricPoint[] {
  const unit = UNIT_SECONDS[table];
  const width = BUCKET_WIDTHS[table];
  if (unit === 60 && width === 1) return [...points];
  const merged = new Map<string, MetricPoint>();
  for (const p of points) {
    const start = p.minute - (p.minute % unit);
    const key = `${p.metric}\u0001${start}\u0001${p.labelValues.join('\u0001')}`;
    let m = merged.get(key);
    if (!m) {
      m = {
        ...p,
        minute: start,
        count: 0,
        sum: 0,
        ...(p.buckets ? { buckets: new Map<number, number>() } : {}),
      };
      merged.set(key, m);
    }
    m.count += p.count;
    m.sum += p.sum;
    if (p.buckets && m.buckets)
      for (const [b, n] of p.buckets) {
        const c = coarseBucket(b, width);
        m.buckets.set(c, (m.buckets.get(c) ?? 0) + n);
      }
  }
  return [...merged.values()];
}

function toRow(p: MetricPoint): Record<string, unknown> {
  const buckets = p.buckets ? [...p.buckets.keys()].sort((a, b) => a - b) : [];
  return {
    Metric: p.metric,
    Time: p.minute,
    Series: p.labelValues.join('\u0001'),
    LabelKeys: p.labelKeys,
    LabelValues: p.labelValues,
    RetentionDays: p.retentionDays,
    Count: p.count,
    Sum: p.sum,
    'HistogramMap.Bucket': buckets,
    'HistogramMap.Records': buckets.map((b) => p.buckets!.get(b)!),
  };
}
