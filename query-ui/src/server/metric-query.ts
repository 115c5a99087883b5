import { FilterError, parseSince, parseTime } from './filters';
import type { MetricQuery } from './metrics';

type Query = Record<string, string | string[] | number | undefined>;

const list = (v: string | string[] | number | undefined): string[] =>
  v === undefined ? [] : (Array.isArray(v) ? v : [String(v)]).flatMap((x) => x.split(','));

/**
 * A metric request's parameters (API query string and `distlog metrics` flags alike):
 * `since=7d` or `from`/`to`, `by=service.name` (repeat or comma-separate; `by=` for no
 * grouping), `where=service.name=orders` (repeat; values of one field are alternatives),
 * `step=1h`, `limit=20`, `quantiles=p95` (of a distribution; default p50,p95,p99).
 */
export function parseMetricQuery(q: Query, now = Date.now()): Omit<MetricQuery, 'tenants'> {
  const toMs = q.to !== undefined ? parseTime('to', String(q.to)) : now;
  const fromMs =
    q.from !== undefined ? parseTime('from', String(q.from)) : toMs - parseSince(String(q.since ?? '24h'));
  const where = new Map<string, string[]>();
  for (const w of Array.isArray(q.where) ? q.where : q.where === undefined ? [] : [String(q.where)]) {
    const at = w.indexOf('=');
    if (at <= 0)
      throw new FilterError(
        `where: expected FIELD=VALUE (e.g. service.name=orders), got ${JSON.stringify(w)}`,
      );
    const field = w.slice(0, at);
    where.set(field, [...(where.get(field) ?? []), w.slice(at + 1)]);
  }
  const by = q.by === undefined ? undefined : list(q.by).filter((f) => f !== '');
  const out: Omit<MetricQuery, 'tenants'> = { fromMs, toMs, where: [...where], ...(by ? { by } : {}) };
  if (q.step !== undefined) out.stepSeconds = Math.max(60, parseSince(String(q.step)) / 1000);
  if (q.limit !== undefined) out.limit = Number(q.limit);
  if (q.quantiles !== undefined) {
    const asked = list(q.quantiles).filter((x) => x !== '');
    for (const x of asked)
      if (x !== 'p50' && x !== 'p95' && x !== 'p99')
        throw new FilterError(`quantiles: expected p50, p95 or p99, got ${JSON.stringify(x)}`);
    out.quantiles = asked as Array<'p50' | 'p95' | 'p99'>;
  }
  return out;
}
