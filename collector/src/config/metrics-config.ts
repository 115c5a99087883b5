import type { MatchConfig, MatchInput } from './rules-config';
import { compileMatch } from './rules-config';

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

/** A metric as a checked file writes it (config/schema.ts). */
export interface MetricInput {
  name: string;
  description: string;
  unit: string;
  match?: MatchInput;
  kind: MetricKind;
  value?: string;
  by: string[];
  retention: number;
}

/** @param writtenMatch the match as the file wrote it (kept as text for the definitions table). */
export function metricFrom(m: MetricInput, writtenMatch: unknown): MetricConfig {
  return {
    name: m.name,
    description: m.description,
    unit: m.unit,
    match: compileMatch(m.match ?? {}),
    matchText: JSON.stringify(writtenMatch ?? {}),
    kind: m.kind,
    ...(m.kind !== 'count' && m.value ? { value: m.value } : {}),
    by: m.by,
    retentionDays: m.retention,
  };
}
