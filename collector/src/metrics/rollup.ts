import type { MetricConfig } from '../config/metrics-config';
import { attributeValue, timeSecondsOf } from '../model/log-row';
import type { LogRow } from '../model/log-row';
import { compileMatch } from '../router/router';
import { bucketOf } from './sketch';

/**
 * Rolls records up into the declared metrics as they arrive: per metric, minute and
 * group, a count, a sum and (distributions) a bucket → count map. observe() is called
 * once per stored request; drain() hands what accumulated to the writer. The per-record
 * work is one match test per metric and, when it matches, one map lookup.
 */
export interface MetricPoint {
  metric: string;
  /** Start of the minute, seconds since the epoch. */
  minute: number;
  labelKeys: string[];
  labelValues: string[];
  retentionDays: number;
  count: number;
  sum: number;
  /** Distributions only: bucket → records. */
  buckets?: Map<number, number>;
}

/** The group value a metric with more groups than maxSeries files new groups under. */
export const OVERFLOW_LABEL = '~other';

type Field = (row: LogRow) => string;

interface CompiledMetric {
  config: MetricConfig;
  test: (row: LogRow) => boolean;
  fields: Field[];
  /**
   * Grouped only by what a record shares with its neighbours (service, logger, resource
   * attributes, severity, event name): a record like the previous one goes to its point
   * without building the group key again.
   */
  byOrigin: boolean;
  points: Map<string, MetricPoint>;
  /** Records whose value attribute was missing or not a number. */
  missing: number;
  overflowed: number;
  /** Said once per metric (not once per flush). */
  warned: boolean;
}

const SEVERITY_NAMES = ['UNSPECIFIED', 'TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];

export function severityName(n: number): string {
  return SEVERITY_NAMES[n <= 0 ? 0 : Math.min(6, Math.ceil(n / 4))];
}

export function fieldReader(field: string): Field {
  switch (field) {
    case 'service.name':
      return (r) => r.resource.serviceName;
    case 'severity':
      return (r) => severityName(r.severityNumber);
    case 'logger':
      return (r) => r.scope.name;
    case 'event.name':
      return (r) => r.eventName;
  }
  if (field.startsWith('resource.')) {
    const key = field.slice('resource.'.length);
    return (r) => {
      const i = r.resource.attributes.keys.indexOf(key);
      return i < 0 ? '' : r.resource.attributes.values[i];
    };
  }
  return (r) => attributeValue(r, field) ?? '';
}

export class MetricRollup {
  private readonly metrics: CompiledMetric[];

  constructor(
    configs: readonly MetricConfig[],
    private readonly maxSeries: number,
    /** Warned once per metric when its groups overflow. */
    private readonly warn: (message: string, fields: Record<string, unknown>) => void = () => {},
  ) {
    this.metrics = configs.map((config) => ({
      config,
      test: compileMatch(config.match),
      fields: config.by.map(fieldReader),
      byOrigin: config.by.every((f) => ORIGIN_FIELDS.has(f) || f.startsWith('resource.')),
      points: new Map(),
      missing: 0,
      overflowed: 0,
      warned: false,
    }));
  }

  get definitions(): readonly MetricConfig[] {
    return this.metrics.map((m) => m.config);
  }

  /** Counts records at once (tally + merge). */
  observe(rows: readonly LogRow[]): void {
    this.merge(this.tally(rows));
  }

  /**
   * What `rows` add to each metric, without counting it yet: the pipeline tallies a
   * request as it routes it and merges the tally once the request is stored, so the
   * records need not be kept until then.
   */
  tally(rows: readonly LogRow[]): MetricTally {
    const metrics = this.metrics;
    const tally: MetricTally = {
      points: metrics.map(() => new Map<string, MetricPoint>()),
      missing: metrics.map(() => 0),
    };
    // Per metric, the last record counted and its point (CompiledMetric.byOrigin).
    const lastRow: Array<LogRow | undefined> = metrics.map(() => undefined);
    const lastMinute: number[] = metrics.map(() => -1);
    const lastPoint: Array<MetricPoint | undefined> = metrics.map(() => undefined);
    for (const row of rows) {
      let minute = -1;
      for (let k = 0; k < metrics.length; k++) {
        const m = metrics[k];
        if (!m.test(row)) continue;
        let value = 0;
        const valueKey = m.config.value;
        if (valueKey !== undefined) {
          const text = attributeValue(row, valueKey);
          value = text === undefined ? NaN : Number(text);
          if (!Number.isFinite(value) || text === '') {
            tally.missing[k]++;
            continue;
          }
        }
        if (minute < 0) {
          // Whole seconds, clamped to DateTime's range as the tiers are.
          const seconds = Math.min(timeSecondsOf(row), 4_294_967_295);
          minute = seconds - (seconds % 60);
        }
        const last = lastRow[k];
        let point: MetricPoint;
        if (
          m.byOrigin &&
          last !== undefined &&
          last.resource === row.resource &&
          last.scope === row.scope &&
          last.severityNumber === row.severityNumber &&
          last.eventName === row.eventName &&
          lastMinute[k] === minute
        ) {
          point = lastPoint[k]!;
        } else {
          point = pointFor(tally.points[k], m, row, minute);
          lastRow[k] = row;
          lastMinute[k] = minute;
          lastPoint[k] = point;
        }
        countInto(point, value);
      }
    }
    return tally;
  }

  /** Counts a tally (of this rollup's metrics); groups past maxSeries go under OVERFLOW_LABEL. */
  merge(tally: MetricTally): void {
    this.metrics.forEach((m, k) => {
      m.missing += tally.missing[k];
      for (const [key, point] of tally.points[k]) {
        const into = m.points.get(key);
        if (into) combine(into, point);
        else if (m.points.size < this.maxSeries) m.points.set(key, point);
        else this.overflow(m, point);
      }
    });
  }

  private overflow(m: CompiledMetric, point: MetricPoint): void {
    m.overflowed += point.count;
    if (!m.warned)
      this.warn(
        `metric ${m.config.name} has more than ${this.maxSeries} groups: new ones are counted as "${OVERFLOW_LABEL}"`,
        { metric: m.config.name, maxSeries: this.maxSeries },
      );
    m.warned = true;
    point.labelValues.fill(OVERFLOW_LABEL);
    const key = `${point.minute}\u0001${point.labelValues.join('\u0001')}`;
    const into = m.points.get(key);
    if (into) combine(into, point);
    else m.points.set(key, point);
  }

  /** What accumulated since the last drain, and the counts of records without a usable value. */
  drain(): { points: MetricPoint[]; missing: Map<string, number>; overflowed: Map<string, number> } {
    const points: MetricPoint[] = [];
    const missing = new Map<string, number>();
    const overflowed = new Map<string, number>();
    for (const m of this.metrics) {
      points.push(...m.points.values());
      m.points = new Map();
      if (m.missing > 0) missing.set(m.config.name, m.missing);
      if (m.overflowed > 0) overflowed.set(m.config.name, m.overflowed);
      m.missing = 0;
      m.overflowed = 0;
    }
    return { points, missing, overflowed };
  }
}

/** One request's contribution to a rollup's metrics (MetricRollup.tally), by metric index. */
export interface MetricTally {
  points: Array<Map<string, MetricPoint>>;
  /** Records without a usable value, per metric. */
  missing: number[];
}

const ORIGIN_FIELDS = new Set(['service.name', 'severity', 'logger', 'event.name']);

/** The point of `row`'s group and minute in `points` (made when new). */
function pointFor(
  points: Map<string, MetricPoint>,
  m: CompiledMetric,
  row: LogRow,
  minute: number,
): MetricPoint {
  const fields = m.fields;
  let key = String(minute);
  for (let i = 0; i < fields.length; i++) key += '\u0001' + fields[i](row);
  let point = points.get(key);
  if (!point) {
    point = {
      metric: m.config.name,
      minute,
      labelKeys: m.config.by,
      labelValues: fields.map((f) => f(row)),
      retentionDays: m.config.retentionDays,
      count: 0,
      sum: 0,
      ...(m.config.kind === 'distribution' ? { buckets: new Map<number, number>() } : {}),
    };
    points.set(key, point);
  }
  return point;
}

function countInto(point: MetricPoint, value: number): void {
  point.count++;
  point.sum += value;
  if (point.buckets) {
    const b = bucketOf(value);
    point.buckets.set(b, (point.buckets.get(b) ?? 0) + 1);
  }
}

function combine(into: MetricPoint, point: MetricPoint): void {
  into.count += point.count;
  into.sum += point.sum;
  if (into.buckets && point.buckets) {
    for (const [b, n] of point.buckets) into.buckets.set(b, (into.buckets.get(b) ?? 0) + n);
  }
}
