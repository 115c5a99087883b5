import { parseArgs } from 'node:util';
import { UsageError } from '../settings';
import type { MetricDefinition, MetricResult } from '../../server/metrics';
import type { Command } from '../command';
import { apiBase, getJson } from '../api-client';
import { textTable, stepText, fmt } from '../format';

const METRIC_OPTIONS = {
  since: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  by: { type: 'string', multiple: true },
  where: { type: 'string', multiple: true },
  step: { type: 'string' },
  limit: { type: 'string' },
  json: { type: 'boolean' },
  api: { type: 'string' },
} as const;

export const metrics: Command = {
  summary:
    'declared metrics: list them, or one over time (--since 7d --by service.name --where scope.name=checkout)',
  usage:
    'distlog metrics [NAME [--since 24h | --from T --to T] [--by FIELD]… [--where FIELD=VALUE]… [--step 1h] [--limit N]] [--json]',
  async run(args) {
    let parsed;
    try {
      parsed = parseArgs({ args, options: METRIC_OPTIONS, allowPositionals: true, strict: true });
    } catch (err) {
      throw new UsageError(`${(err as Error).message}\nusage: ${this.usage}`);
    }
    const { values: flags, positionals } = parsed;
    const base = apiBase(flags);
    if (positionals.length > 1) throw new UsageError(`one metric at a time\nusage: ${this.usage}`);
    if (positionals.length === 0) {
      const { metrics: list } = await getJson<{ metrics: MetricDefinition[] }>(`${base}/api/metrics`);
      if (flags.json) {
        for (const m of list) process.stdout.write(JSON.stringify(m) + '\n');
        return 0;
      }
      if (list.length === 0) {
        process.stdout.write('no metrics declared yet (metrics: in the collector configuration)\n');
        return 0;
      }
      process.stdout.write(
        textTable(
          ['NAME', 'KIND', 'VALUE', 'BY', 'KEPT', 'DESCRIPTION'],
          list.map((m) => [m.name, m.kind, m.value, m.by.join(', '), `${m.retentionDays} d`, m.description]),
        ) + '\n',
      );
      return 0;
    }
    const p = new URLSearchParams();
    if (flags.since) p.set('since', flags.since);
    if (flags.from) p.set('from', flags.from);
    if (flags.to) p.set('to', flags.to);
    for (const b of flags.by ?? []) p.append('by', b);
    for (const w of flags.where ?? []) p.append('where', w);
    if (flags.step) p.set('step', flags.step);
    if (flags.limit) p.set('limit', flags.limit);
    const result = await getJson<MetricResult>(
      `${base}/api/metrics/${encodeURIComponent(positionals[0])}?${p}`,
    );
    if (flags.json) {
      process.stdout.write(JSON.stringify(result) + '\n');
      return 0;
    }
    const { metric } = result;
    const values =
      metric.kind === 'distribution'
        ? ['COUNT', 'P50', 'P95', 'P99']
        : metric.kind === 'sum'
          ? ['COUNT', 'SUM']
          : ['COUNT'];
    const rows = result.series.flatMap((s) =>
      s.points.map((pt) => [
        new Date(pt.t).toISOString().slice(0, 16).replace('T', ' '),
        ...result.by.map((f) => s.labels[f]),
        String(pt.count),
        ...(metric.kind === 'distribution'
          ? [fmt(pt.p50), fmt(pt.p95), fmt(pt.p99)]
          : metric.kind === 'sum'
            ? [fmt(pt.sum)]
            : []),
      ]),
    );
    const unit = metric.unit ? ` (${metric.unit})` : '';
    process.stdout.write(
      `${metric.name}${unit}: ${metric.kind}${metric.value ? ` of ${metric.value}` : ''}, step ${stepText(result.stepSeconds)}, from ${result.table}` +
        (metric.kind === 'distribution' ? ` (quantiles within ${Math.round(result.accuracy * 100)} %)` : '') +
        '\n',
    );
    process.stdout.write(
      textTable(['TIME (UTC)', ...result.by.map((f) => f.toUpperCase()), ...values], rows) + '\n',
    );
    if (result.omittedSeries > 0)
      process.stdout.write(`… and ${result.omittedSeries} smaller groups (--limit, --where)\n`);
    return 0;
  },
};
