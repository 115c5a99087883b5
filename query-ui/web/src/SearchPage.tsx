import type { ReactNode } from 'react';
import { useCallback, useEffect, useMemo, useState } from 'react';
import type { ApiRecord } from './api';
import { getJson, SEVERITIES, severityClass } from './api';
import { filterParams, navigate } from './url';
import { VirtualList } from './VirtualList';
import type { Bucket } from './Histogram';
import { Histogram } from './Histogram';

interface Facets {
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
  const [error, setError] = useState<string | undefined>();
  const [histogram, setHistogram] = useState<{ buckets: Bucket[]; bucketMs: number }>({
    buckets: [],
    bucketMs: 60_000,
  });
  const [facets, setFacets] = useState<Facets>({ services: [], scopes: [], attributeKeys: [], tiers: [] });
  const selectedId = params.get('record');
  const selected = records.find((r) => r.id === selectedId);
  const [text, setText] = useState(params.get('text') ?? '');
  const [range, setRange] = useState(rangeOf(params));

  useEffect(() => setText(params.get('text') ?? ''), [params]);

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
      getJson<Facets>('/api/facets', p),
    ])
      .then(([page, hist, f]) => {
        if (cancelled) return;
        setRecords(page.records);
        setCursor(page.nextCursor);
        setHistogram(hist);
        setFacets(f);
      })
      .catch((err: Error) => !cancelled && setError(err.message))
      .finally(() => !cancelled && setLoading(false));
    return () => {
      cancelled = true;
    };
  }, [query]);

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
      .catch((err: Error) => setError(err.message))
      .finally(() => setLoading(false));
  }, [cursor, loading, query]);

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
  const addAttr = (k: string, v: string) => navigate(withParam(params, (p) => p.append('attr', `${k}=${v}`)));

  return (
    <div className="search">
      <form
        className="filters"
        data-testid="filters"
        onSubmit={(e) => {
          e.preventDefault();
          set('text', text || undefined);
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
          value=""
          onChange={(e) =>
            e.target.value && navigate(withParam(params, (p) => p.append('service', e.target.value)))
          }
        >
          <option value="">+ service</option>
          {facets.services.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
        <select
          aria-label="minimum severity"
          value={params.get('minSeverity') ?? ''}
          onChange={(e) => set('minSeverity', e.target.value || undefined)}
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
          value={params.get('scope') ?? ''}
          onChange={(e) => set('scope', e.target.value || undefined)}
        >
          <option value="">any logger</option>
          {facets.scopes.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
        <input
          aria-label="text"
          placeholder="text in message…"
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
        <button type="submit">Search</button>
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
      {error && (
        <div className="error" role="alert">
          {error}
        </div>
      )}
      <div className="results">
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
            render={(r) => (
              <div
                className={`row ${r.id === selectedId ? 'selected' : ''}`}
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
