import type { ReactNode } from 'react';
import { useEffect, useMemo, useRef, useState } from 'react';
import { severityClass } from './api';
import { FacetsPanel } from './FacetsPanel';
import { FilterBar, removeValue, withParam } from './FilterBar';
import { Histogram } from './Histogram';
import { RecordDetail } from './RecordDetail';
import { addTerm, fieldTerm } from './query-text';
import { filterParams, navigate } from './url';
import { useSearchResults } from './useSearchResults';
import { VirtualList } from './VirtualList';
import { severityLabel } from '../../src/shared/severity';
import { withBase } from './base';

/** Search: the filter bar, the histogram, facets beside the results, one record opened in detail. */
export function SearchPage(props: { params: URLSearchParams }): ReactNode {
  const { params } = props;
  const query = useMemo(() => filterParams(params).toString(), [params]);
  const pinned = params.getAll('pin');
  const { records, cursor, error, histogram, facets, range, loadMore } = useSearchResults(query, pinned);
  const selectedId = params.get('record');
  const selected = records.find((r) => r.id === selectedId);
  // The row j/k moved to (Enter opens it); back to none when new results arrive.
  const [cursorRow, setCursorRow] = useState(-1);
  useEffect(() => setCursorRow(-1), [records]);
  const queryInput = useRef<HTMLInputElement | null>(null);
  const go = (edit: (p: URLSearchParams) => void, replace = false) =>
    navigate(withParam('/', params, edit), replace);

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
          withParam('/', params, (p) => p.set('record', records[cursorRow].id)),
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

  const q = params.get('q') ?? '';
  const setQuery = (next: string) => go((p) => (next.trim() ? p.set('q', next.trim()) : p.delete('q')));
  const set = (key: string, value: string | undefined) =>
    go((p) => (value ? p.set(key, value) : p.delete(key)));

  return (
    <div className="search">
      <FilterBar
        path="/"
        params={params}
        vocabulary={facets}
        timeRange
        submitLabel="Search"
        error={error}
        inputRef={queryInput}
      >
        <a
          href={withBase(`/patterns?${new URLSearchParams(query)}`)}
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
              onClick={() => go((p) => removeValue(p, 'service', s))}
            >
              service={s} ×
            </button>
          ))}
          {params.getAll('attr').map((a) => (
            <button
              type="button"
              key={`a-${a}`}
              className="chip"
              onClick={() => go((p) => removeValue(p, 'attr', a))}
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
      </FilterBar>
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
          onPin={(key) => go((p) => void (!p.getAll('pin').includes(key) && p.append('pin', key)))}
          onUnpin={(key) => go((p) => removeValue(p, 'pin', key))}
        />
        <div className="table">
          <div className="thead">
            <span className="c-time">time (UTC)</span>
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
                onClick={() => go((p) => p.set('record', r.id), true)}
              >
                <span className="c-time">{r.time.slice(11, 23)}</span>
                <span className={`c-sev ${severityClass(r.severityNumber)}`}>
                  {severityLabel(r.severityText, r.severityNumber)}
                </span>
                <span className="c-svc">{r.service}</span>
                <span className="c-scope">{r.scope}</span>
                <span className="c-body">{r.body}</span>
              </div>
            )}
          />
        </div>
        {selected && (
          <RecordDetail
            record={selected}
            onAttr={(k, v) => setQuery(addTerm(q, fieldTerm(k, v)))}
            onClose={() => set('record', undefined)}
          />
        )}
      </div>
    </div>
  );
}
