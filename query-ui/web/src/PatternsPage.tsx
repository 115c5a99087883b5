import type { ReactNode } from 'react';
import { useEffect, useRef, useState } from 'react';
import { ApiError, getJson } from './api';
import { QueryBox } from './QueryBox';
import type { Vocabulary } from './QueryBox';
import { addTerm } from './query-text';
import { filterParams, navigate } from './url';
import type { ApiPattern, PatternsResult } from '../../src/server/patterns';
import { withBase } from './base';

const RANGES = ['15m', '1h', '6h', '24h', '7d'];

function Sparkline({ values }: { values: number[] }): ReactNode {
  const max = Math.max(1, ...values);
  const w = 96;
  const h = 20;
  const step = w / values.length;
  return (
    <svg className="sparkline" width={w} height={h} viewBox={`0 0 ${w} ${h}`} aria-hidden="true">
      {values.map((v, i) =>
        v > 0 ? (
          <rect
            key={i}
            x={i * step}
            y={h - (v / max) * h}
            width={Math.max(1, step - 1)}
            height={(v / max) * h}
          />
        ) : null,
      )}
    </svg>
  );
}

/**
 * Log patterns: the records of a query grouped by message template, with counts, the
 * share of errors, a sparkline over the range, services, and what is new — never stored
 * before the range began — first when asked. Click a pattern to search its records; follow
 * its newest request from the row.
 */
export function PatternsPage({ params }: { params: URLSearchParams }): ReactNode {
  const [result, setResult] = useState<PatternsResult>();
  const [error, setError] = useState<{ message: string; position?: number }>();
  const [text, setText] = useState(params.get('q') ?? '');
  const [vocabulary, setVocabulary] = useState<Vocabulary>({
    services: [],
    scopes: [],
    tiers: [],
    attributeKeys: [],
  });
  const input = useRef<HTMLInputElement | null>(null);
  const query = filterParams(params);
  if (!query.has('since') && !query.has('from')) query.set('since', '1h');
  const newFirst = params.get('new') === 'true';
  const byErrors = params.get('sort') === 'errors';
  const key = `${query}|${newFirst}|${byErrors}`;
  useEffect(() => setText(params.get('q') ?? ''), [params]);
  useEffect(() => {
    const p = new URLSearchParams(query);
    p.set('limit', '100');
    if (newFirst) p.set('new', 'true');
    if (byErrors) p.set('sort', 'errors');
    setError(undefined);
    getJson<PatternsResult>('/api/patterns', p).then(setResult, (err: Error) =>
      setError({ message: err.message, position: err instanceof ApiError ? err.position : undefined }),
    );
    getJson<Vocabulary>('/api/facets', query).then(setVocabulary, () => undefined);
  }, [key]);
  const edit = (change: (p: URLSearchParams) => void) => {
    const p = new URLSearchParams(params);
    change(p);
    navigate(`/patterns?${p}`);
  };
  const q = params.get('q') ?? '';
  const open = (pattern: ApiPattern) => {
    const p = filterParams(params);
    p.set('q', addTerm(q, `pattern:${pattern.id}`));
    navigate(`/?${p}`);
  };
  return (
    <div className="patterns" data-testid="patterns">
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          edit((p) => (text.trim() ? p.set('q', text.trim()) : p.delete('q')));
        }}
      >
        <select
          aria-label="patterns range"
          value={params.get('since') ?? '1h'}
          onChange={(e) => edit((p) => p.set('since', e.target.value))}
        >
          {RANGES.map((r) => (
            <option key={r} value={r}>
              last {r}
            </option>
          ))}
        </select>
        <QueryBox
          value={text}
          onChange={setText}
          onSubmit={(v) => edit((p) => (v.trim() ? p.set('q', v.trim()) : p.delete('q')))}
          vocabulary={vocabulary}
          error={error?.position !== undefined ? error : undefined}
          inputRef={input}
        />
        <label>
          <input
            type="checkbox"
            checked={newFirst}
            onChange={(e) => edit((p) => (e.target.checked ? p.set('new', 'true') : p.delete('new')))}
          />
          new first
        </label>
        <label>
          <input
            type="checkbox"
            checked={byErrors}
            onChange={(e) => edit((p) => (e.target.checked ? p.set('sort', 'errors') : p.delete('sort')))}
          />
          most errors first
        </label>
      </form>
      {error && error.position === undefined && (
        <div className="error" role="alert">
          {error.message}
        </div>
      )}
      {result && (
        <p className="muted">
          {result.records} records, {result.distinct} patterns
          {result.distinct > result.patterns.length ? ` (the first ${result.patterns.length} shown)` : ''}
        </p>
      )}
      {result && (
        <table className="pattern-table" data-testid="pattern-table">
          <thead>
            <tr>
              <th>records</th>
              <th>errors</th>
              <th>over the range</th>
              <th>pattern</th>
              <th>services</th>
              <th>last seen</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {result.patterns.map((p) => (
              <tr key={p.id} data-pattern={p.id} className={p.errors > 0 ? 'has-errors' : ''}>
                <td className="num">{p.count}</td>
                <td className="num">
                  {p.errors > 0 ? `${p.errors} (${Math.round((p.errors / p.count) * 100)} %)` : ''}
                </td>
                <td>
                  <Sparkline values={p.sparkline} />
                </td>
                <td>
                  {p.isNew && <span className="badge new">new</span>}{' '}
                  <button className="link template" title={p.sample} onClick={() => open(p)}>
                    {p.template}
                  </button>
                </td>
                <td>{p.services.join(', ')}</td>
                <td className="muted">{p.lastSeen.slice(11, 19)}</td>
                <td>
                  {p.traceId && (
                    <a
                      href={withBase(`/trace/${p.traceId}`)}
                      data-testid="follow-newest"
                      onClick={(e) => {
                        e.preventDefault();
                        navigate(`/trace/${p.traceId}`);
                      }}
                    >
                      newest request →
                    </a>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
