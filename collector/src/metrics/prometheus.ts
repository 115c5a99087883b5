import type { MetricConfig } from '../config/metrics-config';
import type { MetricPoint } from './rollup';
import { quantileOf } from './sketch';

/**
 * The declared metrics on the collector's `/metrics`, for teams that alert with
 * Prometheus: counts and sums as counters since the collector started
 * (`<name>_total`, and `<name>_sum_total` for sums), distributions as summaries
 * (`<name>{quantile="0.5|0.95|0.99"}` over the last minute, `<name>_count`, `<name>_sum`).
 * Label names are the grouping fields with `.` as `_`. Updated at every flush; each
 * collector exposes what it received (sum them across collectors).
 */
const WINDOW_MS = 60_000;
const QUANTILES = [0.5, 0.95, 0.99];

interface Series {
  labels: string;
  count: number;
  sum: number;
  /** Distributions: buckets of recent flushes, for the quantiles of the last minute. */
  recent?: Array<{ at: number; buckets: Map<number, number> }>;
}

export class PrometheusView {
  private readonly metrics = new Map<string, { config: MetricConfig; series: Map<string, Series> }>();

  constructor(private readonly now: () => number = Date.now) {}

  add(points: readonly MetricPoint[], definitions: readonly MetricConfig[]): void {
    const at = this.now();
    for (const p of points) {
      let m = this.metrics.get(p.metric);
      const config = definitions.find((d) => d.name === p.metric);
      if (!config) continue;
      if (!m || m.config !== config) {
        m = { config, series: m && sameShape(m.config, config) ? m.series : new Map() };
        this.metrics.set(p.metric, m);
      }
      const labels = p.labelKeys.map((k, i) => `${labelName(k)}="${escape(p.labelValues[i])}"`).join(',');
      let s = m.series.get(labels);
      if (!s) {
        s = { labels, count: 0, sum: 0, ...(p.buckets ? { recent: [] } : {}) };
        m.series.set(labels, s);
      }
      s.count += p.count;
      s.sum += p.sum;
      if (p.buckets && s.recent) s.recent.push({ at, buckets: p.buckets });
    }
    for (const name of [...this.metrics.keys()])
      if (!definitions.some((d) => d.name === name) && points.length > 0) this.metrics.delete(name);
  }

  render(): string {
    const out: string[] = [];
    const since = this.now() - WINDOW_MS;
    for (const [name, { config, series }] of this.metrics) {
      const help = (metric: string) =>
        `# HELP ${metric} ${config.description || `Distlog metric ${name}`} (declared in the collector's configuration)`;
      const braces = (labels: string, extra = '') =>
        labels || extra ? `{${[labels, extra].filter(Boolean).join(',')}}` : '';
      if (config.kind === 'distribution') {
        out.push(help(name), `# TYPE ${name} summary`);
        for (const s of series.values()) {
          s.recent = s.recent!.filter((r) => r.at >= since);
          const merged = new Map<number, number>();
          for (const r of s.recent) for (const [b, n] of r.buckets) merged.set(b, (merged.get(b) ?? 0) + n);
          const buckets = [...merged.keys()].sort((a, b) => a - b);
          const counts = buckets.map((b) => merged.get(b)!);
          for (const q of QUANTILES) {
            const v = quantileOf(buckets, counts, q);
            out.push(`${name}${braces(s.labels, `quantile="${q}"`)} ${v === null ? 'NaN' : v}`);
          }
          out.push(`${name}_sum${braces(s.labels)} ${s.sum}`, `${name}_count${braces(s.labels)} ${s.count}`);
        }
      } else {
        const counter = config.kind === 'count' ? `${name}_total` : `${name}_sum_total`;
        out.push(help(counter), `# TYPE ${counter} counter`);
        for (const s of series.values())
          out.push(`${counter}${braces(s.labels)} ${config.kind === 'count' ? s.count : s.sum}`);
      }
    }
    return out.length > 0 ? out.join('\n') + '\n' : '';
  }
}

function sameShape(a: MetricConfig, b: MetricConfig): boolean {
  return a.kind === b.kind && a.value === b.value && a.by.join('\u0001') === b.by.join('\u0001');
}

function labelName(field: string): string {
  const name = field.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

function escape(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
