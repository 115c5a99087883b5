import { ForbiddenError, NotFoundError } from './api-errors';
import type { ClickHouse } from '@distlog/collector/storage';
import {
  accuracyOf,
  BUCKET_WIDTHS,
  METRIC_DEFINITIONS_TABLE,
  METRIC_KEEP_DAYS,
  intLiteral,
  quantileFromSortedSql,
} from '@distlog/collector/storage';
import { TENANT_ATTRIBUTE } from '@distlog/collector/auth';
import { FilterError } from './filters';

/**
 * Reads the declared metrics' rollups (collector/src/metrics): which metrics exist (the
 * collectors write their definitions to `metric_definitions`), and one metric's values
 * over a time range, per step and group. The step follows the range (at most
 * MAX_POINTS points); the table follows the step and the age of the range: minutes
 * (15 days), hours (400 days), days (the metric's retention). No raw record is read.
 */
export interface MetricDefinition {
  name: string;
  kind: 'count' | 'sum' | 'distribution';
  value: string;
  by: string[];
  retentionDays: number;
  description: string;
  unit: string;
  match: string;
}

export interface MetricPoint {
  /** Step start, ms since the epoch. */
  t: number;
  count: number;
  sum: number;
  /** Distributions: quantiles within 1 % from minutes, 2 % from hours, 4 % from days (null: no value). */
  p50?: number | null;
  p95?: number | null;
  p99?: number | null;
}

export interface MetricSeries {
  labels: Record<string, string>;
  total: number;
  points: MetricPoint[];
}

export interface MetricResult {
  metric: MetricDefinition;
  fromMs: number;
  toMs: number;
  stepSeconds: number;
  /** The rollup table read. */
  table: string;
  /** Distributions: the relative accuracy of the quantiles from that table (0.01, 0.02, 0.04). */
  accuracy: number;
  by: string[];
  series: MetricSeries[];
  /** Groups beyond `limit` (largest first) are left out; how many there were. */
  omittedSeries: number;
}

export interface MetricQuery {
  fromMs: number;
  toMs: number;
  /** Fields of the metric's `by` to group by; default all of them; [] sums every group. */
  by?: string[];
  /** field → values the group must have. */
  where?: Array<[string, string[]]>;
  stepSeconds?: number;
  limit?: number;
  /** A user limited to tenants: only metrics grouped by resource.distlog.tenant, and only theirs. */
  tenants?: readonly string[];
  /** Which quantiles of a distribution to compute (default all three). */
  quantiles?: Array<'p50' | 'p95' | 'p99'>;
}

export const MAX_POINTS = 500;
const STEPS = [60, 300, 900, 3600, 3 * 3600, 6 * 3600, 86_400, 7 * 86_400, 30 * 86_400];
const TENANT_FIELD = `resource.${TENANT_ATTRIBUTE}`;

export class MetricReader {
  private cached: { at: number; list: Promise<MetricDefinition[]> } | undefined;

  constructor(private readonly ch: ClickHouse) {}

  /** The definitions, read at most every 5 s (they change when a collector starts or reloads). */
  list(): Promise<MetricDefinition[]> {
    if (!this.cached || Date.now() - this.cached.at > 5000) {
      const list = this.readList();
      this.cached = { at: Date.now(), list };
      list.catch(() => (this.cached = undefined));
    }
    return this.cached.list;
  }

  private async readList(): Promise<MetricDefinition[]> {
    const rows = await this.ch.query<{
      name: string;
      kind: string;
      value: string;
      by: string[];
      retention: number;
      description: string;
      unit: string;
      match: string;
    }>(
      `SELECT Name AS name, argMax(Kind, Version) AS kind, argMax(Value, Version) AS value,
              argMax(By, Version) AS by, argMax(RetentionDays, Version) AS retention,
              argMax(Description, Version) AS description, argMax(Unit, Version) AS unit,
              argMax(MatchText, Version) AS match
       FROM ${this.ch.database}.${METRIC_DEFINITIONS_TABLE} GROUP BY Name ORDER BY Name`,
    );
    return rows.map((r) => ({
      name: r.name,
      kind: r.kind as MetricDefinition['kind'],
      value: r.value,
      by: r.by,
      retentionDays: Number(r.retention),
      description: r.description,
      unit: r.unit,
      match: r.match,
    }));
  }

  async get(name: string): Promise<MetricDefinition> {
    const metric = (await this.list()).find((m) => m.name === name);
    if (!metric) {
      const known = (await this.list()).map((m) => m.name);
      throw new MetricNotFound(
        `no metric named ${JSON.stringify(name)} (declared: ${known.join(', ') || 'none — see metrics: in the collector configuration'})`,
      );
    }
    return metric;
  }

  async read(name: string, q: MetricQuery): Promise<MetricResult> {
    const metric = await this.get(name);
    if (!(q.toMs > q.fromMs)) throw new FilterError('to: must be after from');
    const by = q.by ?? metric.by;
    for (const field of [...by, ...(q.where ?? []).map(([f]) => f)])
      if (!metric.by.includes(field))
        throw new FilterError(
          `metric ${name} is grouped by ${metric.by.join(', ') || 'nothing'}; ${JSON.stringify(field)} is not one of them`,
        );
    const where = [...(q.where ?? [])];
    if (q.tenants) {
      if (!metric.by.includes(TENANT_FIELD))
        throw new MetricForbidden(
          `metric ${name} is not grouped by ${TENANT_FIELD}: readable only by users who read every tenant`,
        );
      where.push([TENANT_FIELD, [...q.tenants]]);
    }
    const rangeSeconds = (q.toMs - q.fromMs) / 1000;
    const asked =
      q.stepSeconds ?? STEPS.find((s) => rangeSeconds / s <= MAX_POINTS) ?? STEPS[STEPS.length - 1];
    const table = chooseTable(asked, q.fromMs, metric.retentionDays);
    // A whole number of the table's rows per step.
    const stepSeconds = Math.ceil(asked / RESOLUTION[table]) * RESOLUTION[table];
    if (rangeSeconds / stepSeconds > 5 * MAX_POINTS)
      throw new FilterError(`step: ${stepSeconds} s gives over ${5 * MAX_POINTS} points for this range`);
    const values = this.ch.values();
    const index = (field: string) => metric.by.indexOf(field) + 1;
    const conditions = [
      `Metric = ${values.str(name)}`,
      `Time >= toDateTime(${intLiteral(Math.floor(q.fromMs / 1000))})`,
      `Time < toDateTime(${intLiteral(Math.ceil(q.toMs / 1000))})`,
      ...where.map(([field, list]) => `LabelValues[${index(field)}] IN (${values.list(list)})`),
    ];
    const group = `[${by.map((f) => `LabelValues[${index(f)}]`).join(', ')}]`;
    const histogram = metric.kind === 'distribution';
    // Each level keeps buckets of its own width (2 % and 4 % accuracy in hours and days).
    const quantile = (q: number) => quantileFromSortedSql(q, BUCKET_WIDTHS[table]);
    const wanted = q.quantiles ?? ['p50', 'p95', 'p99'];
    // Quantiles are computed where the buckets are (quantileSql): three numbers a point travel.
    const inner = `SELECT intDiv(toUInt32(Time), ${intLiteral(stepSeconds)}) * ${intLiteral(stepSeconds)} AS t,
              ${by.length > 0 ? group : 'emptyArrayString()'} AS g, sum(Count) AS n, sum(Sum) AS s
              ${histogram ? ', groupArrayArray(HistogramMap.Bucket) AS bs, groupArrayArray(HistogramMap.Records) AS rs' : ''}
       FROM ${this.ch.database}.${table}
       WHERE ${conditions.join(' AND ')}
       GROUP BY t, g`;
    const rows = await this.ch.query<{
      t: string;
      g: string[];
      n: string;
      s: number;
      p50?: number;
      p95?: number;
      p99?: number;
    }>(
      histogram
        ? `SELECT t, g, n, s, ${wanted.map((p) => `${quantile(Number(p.slice(1)) / 100)} AS ${p}`).join(', ')}
           FROM (SELECT t, g, n, s, arraySort(bs) AS sb, arrayCumSum(arraySort((r, b) -> b, rs, bs)) AS cum FROM (${inner}))
           ORDER BY g, t`
        : `${inner} ORDER BY g, t`,
      {},
      values.params,
    );
    const series = new Map<string, MetricSeries>();
    for (const r of rows) {
      const key = r.g.join('\u0001');
      let s = series.get(key);
      if (!s) {
        s = { labels: Object.fromEntries(by.map((f, i) => [f, r.g[i]])), total: 0, points: [] };
        series.set(key, s);
      }
      const point: MetricPoint = { t: Number(r.t) * 1000, count: Number(r.n), sum: r.s };
      if (histogram) for (const p of wanted) point[p] = finite(r[p]);
      s.total += point.count;
      s.points.push(point);
    }
    const limit = q.limit ?? 20;
    const all = [...series.values()].sort((a, b) => b.total - a.total);
    return {
      metric,
      fromMs: q.fromMs,
      toMs: q.toMs,
      stepSeconds,
      table,
      accuracy: accuracyOf(BUCKET_WIDTHS[table]),
      by,
      series: all.slice(0, limit),
      omittedSeries: Math.max(0, all.length - limit),
    };
  }
}

const finite = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** The coarsest rollup the step needs, or a coarser one when a finer one no longer holds the range's start. */
export function chooseTable(
  stepSeconds: number,
  fromMs: number,
  retentionDays: number,
  now = Date.now(),
): string {
  const ageDays = (now - fromMs) / 86_400_000;
  const holds = (table: string) => ageDays <= Math.min(retentionDays, METRIC_KEEP_DAYS[table]);
  if (stepSeconds >= 86_400 || !holds('metric_hours')) return 'metric_days';
  if (stepSeconds >= 3600 || !holds('metric_minutes')) return 'metric_hours';
  return 'metric_minutes';
}

const RESOLUTION: Record<string, number> = { metric_minutes: 60, metric_hours: 3600, metric_days: 86_400 };

export class MetricNotFound extends NotFoundError {}

export class MetricForbidden extends ForbiddenError {}
