import type { MatchConfig } from './rules-config';
import { parseMatch } from './rules-config';
import type { Checker, Json } from './validate';
import { join } from './validate';

/**
 * Metrics declared as data: each one counts the records that match it, sums a numeric
 * attribute of them, or keeps the distribution of one, per minute and per group, in
 * rollup tables kept for the metric's retention — longer than the records themselves.
 *
 *   metrics:
 *     - name: checkout_latency_ms
 *       match: { service: [orders, gateway], eventName: distlog.scope.end,
 *                attributes: { scope.name: checkout } }
 *       kind: distribution          # count | sum | distribution
 *       value: scope.duration_ms    # the numeric attribute (sum and distribution)
 *       by: [service.name]          # at most 5 grouping fields
 *       retention: 5y               # days as a number, or "90d", "12w", "5y"
 *
 * Grouping fields: `service.name`, `severity` (TRACE … FATAL), `logger` (the record's
 * instrumentation scope), `event.name`, `resource.<key>` (a resource attribute), and any
 * other name is a record attribute. A record without the field is grouped under "".
 */
export type MetricKind = 'count' | 'sum' | 'distribution';
export const METRIC_KINDS: readonly MetricKind[] = ['count', 'sum', 'distribution'];

export interface MetricConfig {
  name: string;
  description: string;
  unit: string;
  match: MatchConfig;
  /** The match as written, for the definitions table and `distlog metrics`. */
  matchText: string;
  kind: MetricKind;
  /** The numeric attribute summed or distributed (absent for count). */
  value?: string;
  by: string[];
  retentionDays: number;
}

/** Settings of every metric: how often rollups are written, and how many groups a metric may have. */
export interface MetricOptions {
  flushIntervalMs: number;
  /** Distinct groups per metric and flush; further groups are counted under "~other". */
  maxSeries: number;
}

export const MAX_GROUP_FIELDS = 5;
export const MAX_METRICS = 100;
export const MAX_RETENTION_DAYS = 20 * 366;
/** Names the collector's own telemetry uses (its /metrics): a declared metric may not start with them. */
const RESERVED_PREFIXES = ['distlog_'];
const METRIC_KEYS = ['name', 'description', 'unit', 'match', 'kind', 'value', 'by', 'retention'];

export function parseMetrics(c: Checker, raw: Json): MetricConfig[] {
  const metrics: MetricConfig[] = [];
  const list = c.list('metrics', raw);
  if (list.length > MAX_METRICS) c.problem('metrics', `at most ${MAX_METRICS} metrics (got ${list.length})`);
  list.forEach((m, i) => {
    const at = join('metrics', i);
    const o = c.object(at, m, METRIC_KEYS);
    if (!o) return;
    const name = c.string(join(at, 'name'), o.name);
    if (o.name === undefined) c.problem(join(at, 'name'), 'required');
    if (name !== undefined) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name))
        c.fail(
          join(at, 'name'),
          'a name of lower-case letters, digits and _ (e.g. checkout_latency_ms)',
          name,
        );
      const reserved = RESERVED_PREFIXES.find((p) => name.startsWith(p));
      if (reserved)
        c.problem(join(at, 'name'), `"${name}": names starting with "${reserved}" are the collector's own`);
      if (metrics.some((x) => x.name === name))
        c.problem(join(at, 'name'), `metric "${name}" is defined twice`);
    }
    const kind = o.kind ?? 'count';
    if (!METRIC_KINDS.includes(kind as MetricKind))
      c.fail(join(at, 'kind'), `one of ${METRIC_KINDS.join(', ')}`, kind);
    const value = c.string(join(at, 'value'), o.value);
    if ((kind === 'sum' || kind === 'distribution') && value === undefined && o.value === undefined)
      c.problem(
        join(at, 'value'),
        `a ${String(kind)} needs the numeric attribute it reads (value: ATTRIBUTE)`,
      );
    if (kind === 'count' && o.value !== undefined)
      c.problem(join(at, 'value'), 'a count reads no value (use kind: sum or distribution)');
    const by = o.by === undefined ? [] : (c.strings(join(at, 'by'), o.by) ?? []);
    if (by.length > MAX_GROUP_FIELDS)
      c.problem(
        join(at, 'by'),
        `at most ${MAX_GROUP_FIELDS} grouping fields (got ${by.length}): each one multiplies the groups stored`,
      );
    const twice = by.find((b, j) => by.indexOf(b) !== j);
    if (twice) c.problem(join(at, 'by'), `"${twice}" is listed twice`);
    for (const b of by)
      if (b === 'resource.') c.problem(join(at, 'by'), '"resource." needs an attribute name');
    const retentionDays = parseRetention(c, join(at, 'retention'), o.retention);
    const description =
      o.description === undefined ? '' : (c.string(join(at, 'description'), o.description) ?? '');
    const unit = o.unit === undefined ? '' : (c.string(join(at, 'unit'), o.unit) ?? '');
    const match = parseMatch(c, join(at, 'match'), o.match ?? {});
    if (name && METRIC_KINDS.includes(kind as MetricKind) && retentionDays)
      metrics.push({
        name,
        description,
        unit,
        match,
        matchText: JSON.stringify(o.match ?? {}),
        kind: kind as MetricKind,
        ...(kind !== 'count' && value ? { value } : {}),
        by,
        retentionDays,
      });
  });
  return metrics;
}

/** Days: a whole number, or "90d", "12w", "5y" (a year is 366 days: never less than asked). */
function parseRetention(c: Checker, at: string, value: Json): number | undefined {
  if (value === undefined) {
    c.problem(at, 'required (how long to keep the metric, e.g. 400d or 5y)');
    return undefined;
  }
  let days: number | undefined;
  if (typeof value === 'number' && Number.isInteger(value)) days = value;
  else if (typeof value === 'string') {
    const m = /^\s*(\d+)\s*(d|w|y)\s*$/.exec(value);
    if (m) days = Number(m[1]) * { d: 1, w: 7, y: 366 }[m[2] as 'd' | 'w' | 'y'];
  }
  if (days === undefined || days < 1 || days > MAX_RETENTION_DAYS) {
    c.fail(at, `a retention such as 30 (days), "90d", "12w" or "5y", at most 20 years`, value);
    return undefined;
  }
  return days;
}

export function parseMetricOptions(c: Checker, raw: Json, defaults: MetricOptions): MetricOptions {
  const o = c.object('metricOptions', raw ?? {}, ['flushInterval', 'maxSeries']) ?? {};
  return {
    flushIntervalMs: flushInterval(c, o.flushInterval, defaults.flushIntervalMs),
    maxSeries: c.number(
      'metricOptions.maxSeries',
      o.maxSeries,
      { min: 1, integer: true },
      defaults.maxSeries,
    )!,
  };
}

function flushInterval(c: Checker, value: Json, fallback: number): number {
  if (value === undefined) return fallback;
  const m = typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)\s*$/.exec(value) : null;
  const ms =
    typeof value === 'number' ? value : m ? Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2] as 'ms'] : NaN;
  if (!(ms >= 100 && ms <= 60_000)) {
    c.fail('metricOptions.flushInterval', 'a duration from 100ms to 1m, e.g. "10s"', value);
    return fallback;
  }
  return ms;
}
