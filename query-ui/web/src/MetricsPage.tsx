import type { ReactNode } from 'react';
import { useEffect, useState } from 'react';
import { getJson } from './api';
import { navigate } from './url';
import type { MetricDefinition, MetricResult, MetricSeries } from '../../src/server/metrics';

const RANGES = ['1h', '6h', '24h', '7d', '30d', '90d', '400d'];
type Stat = 'p50' | 'p95' | 'p99' | 'count' | 'sum';
const PALETTE = ['#3f6ad8', '#e5484d', '#3fb27f', '#f0b429', '#8e4ec6', '#12a4b5', '#ff7a45', '#7b8794'];

function withParams(params: URLSearchParams, edit: (p: URLSearchParams) => void): string {
  const p = new URLSearchParams(params);
  edit(p);
  return `/metrics?${p}`;
}

function statsOf(metric: MetricDefinition | undefined): Stat[] {
  if (!metric) return [];
  if (metric.kind === 'distribution') return ['p50', 'p95', 'p99', 'count'];
  if (metric.kind === 'sum') return ['sum', 'count'];
  return ['count'];
}

const label = (s: MetricSeries) =>
  Object.entries(s.labels)
    .map(([k, v]) => `${k}=${v || '""'}`)
    .join(' ') || 'all';

const fmt = (n: number | null | undefined) =>
  n === null || n === undefined
    ? '–'
    : Math.abs(n) >= 100 || Number.isInteger(n)
      ? String(Math.round(n))
      : n.toPrecision(3);

/**
 * The declared metrics (the collector's `metrics:`) as line charts, read from their
 * rollups: choose the metric, the range, how to group and filter, and for distributions
 * p50/p95/p99. Everything is in the URL.
 */
export function MetricsPage({ params }: { params: URLSearchParams }): ReactNode {
  const [metrics, setMetrics] = useState<MetricDefinition[]>();
  const [result, setResult] = useState<MetricResult>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    getJson<{ metrics: MetricDefinition[] }>('/api/metrics').then(
      (r) => setMetrics(r.metrics),
      (e: Error) => setError(e.message),
    );
  }, []);
  const name = params.get('metric') ?? metrics?.[0]?.name;
  const metric = metrics?.find((m) => m.name === name);
  const stats = statsOf(metric);
  const stat: Stat = stats.includes(params.get('stat') as Stat)
    ? (params.get('stat') as Stat)
    : (stats[0] ?? 'count');
  const since = params.get('since') ?? '24h';
  const by = params.has('by') ? params.getAll('by').filter((b) => b !== '') : (metric?.by ?? []);
  const where = params.getAll('where');
  const q = new URLSearchParams({ since });
  // Only the quantile shown (the others are a click away).
  if (stat === 'p50' || stat === 'p95' || stat === 'p99') q.set('quantiles', stat);
  if (params.has('by')) for (const b of params.getAll('by')) q.append('by', b);
  for (const w of where) q.append('where', w);
  const query = q.toString();
  useEffect(() => {
    if (!name) return;
    setError(undefined);
    // Answers to an earlier choice that arrive late are dropped.
    let current = true;
    getJson<MetricResult>(`/api/metrics/${encodeURIComponent(name)}`, new URLSearchParams(query)).then(
      (r) => current && setResult(r),
      (e: Error) => {
        if (!current) return;
        setError(e.message);
        setResult(undefined);
      },
    );
    return () => {
      current = false;
    };
  }, [name, query]);
  const [whereText, setWhereText] = useState('');

  if (metrics && metrics.length === 0)
    return (
      <div className="metrics" data-testid="metrics">
        <p>
          No metrics are declared yet: add them under <code>metrics:</code> in the collector configuration.
        </p>
      </div>
    );
  return (
    <div className="metrics" data-testid="metrics">
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          if (!whereText.includes('=')) return;
          navigate(withParams(params, (p) => p.append('where', whereText)));
          setWhereText('');
        }}
      >
        <select
          aria-label="metric"
          value={name ?? ''}
          onChange={(e) => navigate(`/metrics?${new URLSearchParams({ metric: e.target.value, since })}`)}
        >
          {(metrics ?? []).map((m) => (
            <option key={m.name} value={m.name}>
              {m.name}
            </option>
          ))}
        </select>
        <select
          aria-label="metric range"
          value={since}
          onChange={(e) => navigate(withParams(params, (p) => p.set('since', e.target.value)))}
        >
          {RANGES.map((r) => (
            <option key={r} value={r}>
              last {r}
            </option>
          ))}
        </select>
        <select
          aria-label="statistic"
          value={stat}
          onChange={(e) => navigate(withParams(params, (p) => p.set('stat', e.target.value)))}
        >
          {stats.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        <span className="group-by" aria-label="group by">
          by
          {(metric?.by ?? []).map((field) => (
            <label key={field}>
              <input
                type="checkbox"
                checked={by.includes(field)}
                onChange={(e) =>
                  navigate(
                    withParams(params, (p) => {
                      const next = e.target.checked ? [...by, field] : by.filter((b) => b !== field);
                      p.delete('by');
                      if (next.length === 0) p.append('by', '');
                      for (const b of next) p.append('by', b);
                    }),
                  )
                }
              />
              {field}
            </label>
          ))}
        </span>
        <input
          aria-label="metric filter"
          placeholder={`filter: ${metric?.by[0] ?? 'field'}=value`}
          value={whereText}
          onChange={(e) => setWhereText(e.target.value)}
        />
        {where.map((w) => (
          <button
            type="button"
            key={w}
            className="chip"
            title="remove this filter"
            onClick={() =>
              navigate(
                withParams(params, (p) => {
                  p.delete('where');
                  for (const x of where) if (x !== w) p.append('where', x);
                }),
              )
            }
          >
            {w} ×
          </button>
        ))}
      </form>
      {metric && (
        <p className="muted" data-testid="metric-description">
          {metric.description || metric.name}: {metric.kind}
          {metric.value ? ` of ${metric.value}` : ''}
          {metric.unit ? ` (${metric.unit})` : ''}, kept {metric.retentionDays} days
          {result
            ? ` · step ${result.stepSeconds >= 3600 ? `${result.stepSeconds / 3600} h` : `${result.stepSeconds / 60} min`} from ${result.table}` +
              (metric.kind === 'distribution'
                ? `, quantiles within ${Math.round(result.accuracy * 100)} %`
                : '')
            : ''}
        </p>
      )}
      {error && <div className="error">{error}</div>}
      {result && <LineChart result={result} stat={stat} />}
      {result && (
        <table className="metric-table" data-testid="metric-table">
          <thead>
            <tr>
              <th />
              <th>group</th>
              <th>records</th>
              <th>{stat} (latest step)</th>
              <th>{stat} (max step)</th>
            </tr>
          </thead>
          <tbody>
            {result.series.map((s, i) => {
              const values = s.points.map((p) => p[stat]).filter((v): v is number => typeof v === 'number');
              return (
                <tr key={label(s)}>
                  <td>
                    <i className="swatch" style={{ background: PALETTE[i % PALETTE.length] }} />
                  </td>
                  <td>{label(s)}</td>
                  <td>{s.total}</td>
                  <td>{fmt(values[values.length - 1])}</td>
                  <td>{fmt(values.length ? Math.max(...values) : null)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {result && result.omittedSeries > 0 && (
        <p className="muted">… and {result.omittedSeries} smaller groups (filter or group less)</p>
      )}
    </div>
  );
}

/** One line per group (SVG, no chart library); gaps where a step has no records. */
function LineChart({ result, stat }: { result: MetricResult; stat: Stat }): ReactNode {
  const width = 1000;
  const height = 260;
  const pad = { left: 60, right: 10, top: 10, bottom: 24 };
  const stepMs = result.stepSeconds * 1000;
  const from = Math.floor(result.fromMs / stepMs) * stepMs;
  const to = result.toMs;
  const values = result.series
    .flatMap((s) => s.points.map((p) => p[stat]))
    .filter((v): v is number => typeof v === 'number');
  const max = Math.max(1e-9, ...values) * 1.05;
  const x = (t: number) => pad.left + ((t - from) / Math.max(1, to - from)) * (width - pad.left - pad.right);
  const y = (v: number) => height - pad.bottom - (v / max) * (height - pad.top - pad.bottom);
  const day = to - from > 2 * 86_400_000;
  const time = (t: number) => new Date(t).toISOString().slice(day ? 0 : 11, day ? 10 : 16);
  return (
    <svg
      className="line-chart"
      data-testid="line-chart"
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label={`${stat} per step`}
    >
      {[0, 0.5, 1].map((f) => (
        <g key={f}>
          <line x1={pad.left} x2={width - pad.right} y1={y(max * f)} y2={y(max * f)} stroke="#e4e7eb" />
          <text x={pad.left - 6} y={y(max * f) + 4} textAnchor="end" fontSize="11" fill="#7b8794">
            {fmt(max * f)}
          </text>
        </g>
      ))}
      <text x={pad.left} y={height - 6} fontSize="11" fill="#7b8794">
        {time(from)}
      </text>
      <text x={width - pad.right} y={height - 6} fontSize="11" fill="#7b8794" textAnchor="end">
        {time(to)}
      </text>
      {result.series.map((s, i) => {
        const color = PALETTE[i % PALETTE.length];
        const segments: string[] = [];
        let current = '';
        let last = -Infinity;
        for (const p of s.points) {
          const v = p[stat];
          if (typeof v !== 'number') continue;
          // A step without records breaks the line.
          current += `${p.t - last > stepMs ? (current ? ` M` : 'M') : ' L'}${x(p.t).toFixed(1)},${y(v).toFixed(1)}`;
          last = p.t;
        }
        if (current) segments.push(current.trim());
        return (
          <g key={label(s)} data-series={label(s)}>
            <path d={segments.join(' ')} fill="none" stroke={color} strokeWidth="2" />
            {s.points.map((p) =>
              typeof p[stat] === 'number' ? (
                <circle key={p.t} cx={x(p.t)} cy={y(p[stat] as number)} r="2.5" fill={color}>
                  <title>{`${label(s)} ${new Date(p.t).toISOString()}: ${stat} ${fmt(p[stat] as number)} (${p.count} records)`}</title>
                </circle>
              ) : null,
            )}
          </g>
        );
      })}
    </svg>
  );
}
