import type { ReactNode } from 'react';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { ApiRecord } from './api';
import { ApiError, getJson, SEVERITIES, severityClass } from './api';
import type { FacetCounts } from './FacetsPanel';
import { FacetsPanel } from './FacetsPanel';
import { QueryBox } from './QueryBox';
import { addTerm, fieldTerm, setTerm, terms } from './query-text';
import { filterParams, navigate } from './url';
import { VirtualList } from './VirtualList';
import type { Bucket } from './Histogram';
import { Histogram } from './Histogram';

interface Facets extends FacetCounts {
  services: string[];
  scopes: string[];
  attributeKeys: string[];
  tiers: string[];
}

const RANGES = ['5m', '15m', '1h', '6h', '24h', '7d', '30d'];
const UNIT: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function rangeOf(params: URLSearchParams): { fromMs: number; toMs: number } {
  const toMs = params.get('to') ? Date.parse(params.get('to')!) : Date.now();
  if (params.get('from')) return { fromMs: Date.parse(params.get('from')!), toMs };
  const m = /^(\d+)([smhd])$/.exec(params.get('since') ?? '1h');
  return { fromMs: toMs - (m ? Number(m[1]) * UNIT[m[2]] : 3_600_000), toMs };
}

function withParam(params: URLSearchParams, edit: (p: URLSearchParams) => void): string {
  const next = new URLSearchParams(params);
  edit(next);
  return `/?${next}`;
}

export function SearchPage(props: { params: URLSearchParams }): ReactNode {
  const { params } = props;
  const query = useMemo(() => filterParams(params).toString(), [params]);
  const [records, setRecords] = useState<ApiRecord[]>([]);
  const [cursor, setCursor] = useState<string | undefined>();
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<{ message: string; position?: number } | undefined>();
  const [histogram, setHistogram] = useState<{ buckets: Bucket[]; bucketMs: number }>({
    buckets: [],
    bucketMs: 60_000,
  });
  const [facets, setFacets] = useState<Facets>({
    services: [],
    scopes: [],
    attributeKeys: [],
    tiers: [],
    total: 0,
    counts: { service: [], severity: [], logger: [], tier: [] },
    pinned: {},
  });
  const selectedId = params.get('record');
  const selected = records.find((r) => r.id === selectedId);
  const [text, setText] = useState(params.get('q') ?? '');
  const [range, setRange] = useState(rangeOf(params));
  const pinned = params.getAll('pin');
  const pinQuery = pinned.join(',');
  // The row j/k moved to (Enter opens it).
  const [cursorRow, setCursorRow] = useState(-1);
  const queryInput = useRef<HTMLInputElement | null>(null);

  useEffect(() => setText(params.get('q') ?? ''), [params]);

  useEffect(() => {
    const p = new URLSearchParams(query);
    if (!p.has('since') && !p.has('from')) p.set('since', '1h');
    setRange(rangeOf(p));
    setLoading(true);
    setError(undefined);
    let cancelled = false;
    Promise.all([
      getJson<{ records: ApiRecord[]; nextCursor?: string }>(
        '/api/search',
        new URLSearchParams([...p, ['limit', '1000']]),
      ),
      getJson<{ buckets: Bucket[]; bucketMs: number }>(
        '/api/histogram',
        new URLSearchParams([...p, ['buckets', '60']]),
      ),
      getJson<Facets>(
        '/api/facets',
        new URLSearchParams([
          ...p,
          ...pinQuery
            .split(',')
            .filter(Boolean)
            .map((k) => ['pin', k]),
        ]),
      ),
    ])
      .then(([page, hist, f]) => {
        if (cancelled) return;
        setCursorRow(-1);
        setRecords(page.records);
        setCursor(page.nextCursor);
        setHistogram(hist);
        setFacets(f);
      })
      .catch(
        (err: Error) =>
          !cancelled &&
          setError({ message: err.message, position: err instanceof ApiError ? err.position : undefined }),
      )
      .finally(() => !cancelled && setLoading(false));
    return () => {
      cancelled = true;
    };
  }, [query, pinQuery]);

  // Keyboard: / to the query box; j/k through the results; Enter opens one; t follows its request.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement;
      if (e.metaKey || e.ctrlKey || e.altKey || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) return;
      if (e.key === '/') {
        e.preventDefault();
        queryInput.current?.focus();
      } else if (e.key === 'j' || e.key === 'k') {
        const current = cursorRow >= 0 ? cursorRow : records.findIndex((r) => r.id === selectedId);
        const next = Math.max(0, Math.min(records.length - 1, current + (e.key === 'j' ? 1 : -1)));
        setCursorRow(next);
        document.querySelector(`[data-row="${next}"]`)?.scrollIntoView({ block: 'nearest' });
      } else if (e.key === 'Enter' && cursorRow >= 0 && records[cursorRow]) {
        navigate(
          withParam(params, (p) => p.set('record', records[cursorRow].id)),
          true,
        );
      } else if (e.key === 't') {
        const r = records[cursorRow] ?? selected;
        if (r?.traceId) navigate(`/trace/${r.traceId}?record=${encodeURIComponent(r.id)}`);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [records, cursorRow, selectedId, selected, params]);

  const loadMore = useCallback(() => {
    if (!cursor || loading) return;
    setLoading(true);
    const p = new URLSearchParams(query);
    if (!p.has('since') && !p.has('from')) p.set('since', '1h');
    p.set('limit', '10000');
    p.set('cursor', cursor);
    getJson<{ records: ApiRecord[]; nextCursor?: string }>('/api/search', p)
      .then((page) => {
        setRecords((rs) => rs.concat(page.records));
        setCursor(page.nextCursor);
      })
      .catch((err: Error) => setError({ message: err.message }))
      .finally(() => setLoading(false));
  }, [cursor, loading, query]);
  const q = params.get('q') ?? '';
  const setQuery = (next: string) =>
    navigate(withParam(params, (p) => (next.trim() ? p.set('q', next.trim()) : p.delete('q'))));
  // An attribute value clicked in the detail: its term joins the query.
  const addAttr = (k: string, v: string) => setQuery(addTerm(q, fieldTerm(k, v)));
  // The dropdowns build the same query: they replace their field's terms.
  const currentValue = (field: string, op = ':') => {
    const t = terms(q).find((x) => x.startsWith(`${field}${op}`));
    return t?.slice(field.length + op.length).replace(/^"|"$/g, '');
  };

  const set = (key: string, value: string | undefined) =>
    navigate(withParam(params, (p) => (value ? p.set(key, value) : p.delete(key))));
  // Absolute range: local date-times in the inputs, ISO 8601 (UTC) in the URL.
  const setTime = (key: 'from' | 'to', local: string) =>
    navigate(
      withParam(params, (p) => {
        if (local) p.set(key, new Date(local).toISOString());
        else p.delete(key);
        if (p.get('from') && !p.get('to')) p.set('to', new Date().toISOString());
        p.delete('since');
      }),
    );

  return (
    <div className="search">
      <form
        className="filters"
        data-testid="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setQuery(text);
        }}
      >
        <select
          aria-label="time range"
          value={params.get('from') ? 'custom' : (params.get('since') ?? '1h')}
          onChange={(e) =>
            e.target.value !== 'custom' &&
            navigate(
              withParam(params, (p) => {
                p.delete('from');
                p.delete('to');
                p.set('since', e.target.value);
              }),
            )
          }
        >
          {RANGES.map((r) => (
            <option key={r} value={r}>
              last {r}
            </option>
          ))}
          <option value="custom">from … to …</option>
        </select>
        <input
          type="datetime-local"
          aria-label="from"
          value={toLocalInput(params.get('from'))}
          onChange={(e) => setTime('from', e.target.value)}
        />
        <input
          type="datetime-local"
          aria-label="to"
          value={toLocalInput(params.get('to'))}
          onChange={(e) => setTime('to', e.target.value)}
        />
        <select
          aria-label="service"
          value={currentValue('service') ?? ''}
          onChange={(e) =>
            setQuery(setTerm(q, 'service', e.target.value ? fieldTerm('service', e.target.value) : ''))
          }
        >
          <option value="">any service</option>
          {facets.services.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
        <select
          aria-label="minimum severity"
          value={currentValue('severity', '>=')?.toUpperCase() ?? params.get('minSeverity') ?? ''}
          onChange={(e) =>
            setQuery(
              setTerm(q, 'severity', e.target.value ? `severity>=${e.target.value.toLowerCase()}` : ''),
            )
          }
        >
          <option value="">any severity</option>
          {SEVERITIES.map((s) => (
            <option key={s} value={s}>
              ≥ {s}
            </option>
          ))}
        </select>
        <select
          aria-label="logger"
          value={currentValue('logger') ?? params.get('scope') ?? ''}
          onChange={(e) =>
            setQuery(setTerm(q, 'logger', e.target.value ? fieldTerm('logger', e.target.value) : ''))
          }
        >
          <option value="">any logger</option>
          {facets.scopes.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
        <QueryBox
          value={text}
          onChange={setText}
          onSubmit={setQuery}
          vocabulary={facets}
          error={error?.position !== undefined ? error : undefined}
          inputRef={queryInput}
        />
        <button type="submit">Search</button>
        <a
          href={`/patterns?${new URLSearchParams(query)}`}
          data-testid="to-patterns"
          onClick={(e) => {
            e.preventDefault();
            navigate(`/patterns?${new URLSearchParams(query)}`);
          }}
        >
          Patterns of these records →
        </a>
        <span className="chips" data-testid="chips">
          {params.getAll('service').map((s) => (
            <button
              type="button"
              key={`s-${s}`}
              className="chip"
              onClick={() => navigate(withParam(params, (p) => removeValue(p, 'service', s)))}
            >
              service={s} ×
            </button>
          ))}
          {params.getAll('attr').map((a) => (
            <button
              type="button"
              key={`a-${a}`}
              className="chip"
              onClick={() => navigate(withParam(params, (p) => removeValue(p, 'attr', a)))}
            >
              {a} ×
            </button>
          ))}
          {params.get('spanId') && (
            <button type="button" className="chip" onClick={() => set('spanId', undefined)}>
              scope={params.get('spanId')} ×
            </button>
          )}
          {params.get('traceId') && (
            <button type="button" className="chip" onClick={() => set('traceId', undefined)}>
              trace={params.get('traceId')!.slice(0, 8)}… ×
            </button>
          )}
        </span>
      </form>
      <Histogram
        buckets={histogram.buckets}
        bucketMs={histogram.bucketMs}
        fromMs={range.fromMs}
        toMs={range.toMs}
      />
      {error && error.position === undefined && (
        <div className="error" role="alert">
          {error.message}
        </div>
      )}
      <div className="results">
        <FacetsPanel
          facets={facets}
          pinned={pinned}
          attributeKeys={facets.attributeKeys}
          onTerm={(field, value, exclude) => setQuery(addTerm(q, fieldTerm(field, value, exclude)))}
          onPin={(key) =>
            navigate(withParam(params, (p) => void (!p.getAll('pin').includes(key) && p.append('pin', key))))
          }
          onUnpin={(key) => navigate(withParam(params, (p) => removeValue(p, 'pin', key)))}
        />
        <div className="table">
          <div className="thead">
            <span className="c-time">time</span>
            <span className="c-sev">severity</span>
            <span className="c-svc">service</span>
            <span className="c-scope">logger</span>
            <span className="c-body">
              message{' '}
              <span className="muted">
                ({records.length}
                {cursor ? '+' : ''} records)
              </span>
            </span>
          </div>
          <VirtualList
            testId="results"
            items={records}
            rowHeight={26}
            onNearEnd={loadMore}
            render={(r, i) => (
              <div
                className={`row ${r.id === selectedId ? 'selected' : ''} ${i === cursorRow ? 'cursor' : ''}`}
                data-row={i}
                data-testid="result-row"
                onClick={() =>
                  navigate(
                    withParam(params, (p) => p.set('record', r.id)),
                    true,
                  )
                }
              >
                <span className="c-time">{r.time.slice(11, 23)}</span>
                <span className={`c-sev ${severityClass(r.severityNumber)}`}>{r.severityText}</span>
                <span className="c-svc">{r.service}</span>
                <span className="c-scope">{r.scope}</span>
                <span className="c-body">{r.body}</span>
              </div>
            )}
          />
        </div>
        {selected && <Detail record={selected} onAttr={addAttr} onClose={() => set('record', undefined)} />}
      </div>
    </div>
  );
}

function toLocalInput(iso: string | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

function removeValue(p: URLSearchParams, key: string, value: string): void {
  const rest = p.getAll(key).filter((v) => v !== value);
  p.delete(key);
  for (const v of rest) p.append(key, v);
}

function Detail(props: {
  record: ApiRecord;
  onAttr: (k: string, v: string) => void;
  onClose: () => void;
}): ReactNode {
  const r = props.record;
  const fields: Array<[string, string]> = [
    ['time', r.time],
    ['service', r.service],
    ['severity', `${r.severityText} (${r.severityNumber})`],
    ['logger', r.scope],
    ['event', r.eventName],
    ['trace id', r.traceId],
    ['span id', r.spanId],
    ['tier', r.tier],
  ];
  return (
    <aside className="detail" data-testid="detail">
      <button className="close" onClick={props.onClose} aria-label="close">
        ×
      </button>
      <pre className="body">{r.body}</pre>
      {r.traceId && (
        <button
          className="primary"
          data-testid="follow"
          onClick={() => navigate(`/trace/${r.traceId}?record=${encodeURIComponent(r.id)}`)}
        >
          Follow this request →
        </button>
      )}
      <h4>Fields</h4>
      <table>
        <tbody>
          {fields
            .filter(([, v]) => v)
            .map(([k, v]) => (
              <tr key={k}>
                <th>{k}</th>
                <td>{v}</td>
              </tr>
            ))}
        </tbody>
      </table>
      <h4>Attributes</h4>
      <table data-testid="attributes">
        <tbody>
          {Object.entries(r.attributes).map(([k, v]) => (
            <tr key={k}>
              <th>{k}</th>
              <td>
                <button className="link" title="filter by this value" onClick={() => props.onAttr(k, v)}>
                  {v}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h4>Resource</h4>
      <table>
        <tbody>
          {Object.entries(r.resource).map(([k, v]) => (
            <tr key={k}>
              <th>{k}</th>
              <td>{v}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </aside>
  );
}
