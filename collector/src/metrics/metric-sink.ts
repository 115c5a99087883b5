import type { MetricConfig, MetricOptions } from '../config/metrics-config';
import type { ClickHouse } from '../storage/clickhouse';
import type { LogRow } from '../model/log-row';
import type { CollectorMetrics } from '../telemetry/metrics';
import { log } from '../helpers/log';
import type { MetricPoint } from './rollup';
import { MetricRollup } from './rollup';
import { PrometheusView } from './prometheus';

/** The rollup tables, finest first (migrations 0015–0017). */
export const METRIC_TABLES = ['metric_minutes', 'metric_hours', 'metric_days'] as const;
export const METRIC_DEFINITIONS_TABLE = 'metric_definitions';

/**
 * Writes the declared metrics: what the rollup gathered goes to `metric_minutes` every
 * flush interval and at stop (materialized views make the hour and day rows), the
 * definitions to `metric_definitions` at start and on every reload. Points that could
 * not be written stay and are written with the next flush (merged with newer ones: the
 * table sums rows of one key anyway), up to maxPending points; past that the oldest go,
 * counted in distlog_metric_points_dropped_total.
 */
export class MetricSink {
  private rollup: MetricRollup;
  private pending: MetricPoint[] = [];
  private timer: NodeJS.Timeout | undefined;
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

  /** Records that were stored (or dropped by rule): counted into every metric they match. */
  observe(rows: readonly LogRow[]): void {
    this.rollup.observe(rows);
  }

  async start(): Promise<void> {
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
    this.pending.push(...points);
    if (this.pending.length > this.maxPending) {
      const dropped = this.pending.length - this.maxPending;
      this.pending.splice(0, dropped);
      this.telemetry.metricPointsDropped.inc({}, dropped);
    }
  }

  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.write());
    return this.flushing;
  }

  private async write(): Promise<void> {
    this.take(this.rollup);
    if (this.pending.length === 0) return;
    const points = this.pending;
    this.pending = [];
    try {
      await this.ch.insertJson(METRIC_TABLES[0], points.map(toRow));
      this.telemetry.metricPointsWritten.inc({}, points.length);
      if (this.failing) log('info', 'metric rollups are written again', { points: points.length });
      this.failing = false;
    } catch (err) {
      this.pending = points.concat(this.pending);
      if (!this.failing)
        log('warn', 'metric rollups not written; kept and tried again with the next flush', {
          points: points.length,
          error: String(err),
        });
      this.failing = true;
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

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }
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
