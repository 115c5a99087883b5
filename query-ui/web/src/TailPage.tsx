import type { ReactNode } from 'react';
import { useEffect, useRef, useState } from 'react';
import type { ApiRecord } from './api';
import { getJson, severityClass } from './api';
import { FilterBar } from './FilterBar';
import type { Facets } from './useSearchResults';
import { NO_FACETS } from './useSearchResults';
import { filterParams } from './url';
import { severityLabel } from '../../src/shared/severity';
import { RecentKeys } from '../../src/shared/recent-keys';
import { withBase } from './base';

/** Live tail: records pushed by the server (SSE) as they arrive, with pause, and the search's filter bar (in the URL). */
export function TailPage(props: { params: URLSearchParams }): ReactNode {
  const [lines, setLines] = useState<ApiRecord[]>([]);
  const [paused, setPaused] = useState(false);
  const [state, setState] = useState('connecting');
  const pausedRef = useRef(paused);
  pausedRef.current = paused;
  const query = filterParams(props.params).toString();
  // What the filter bar offers (services, loggers, attribute keys): those of the last hour.
  const [vocabulary, setVocabulary] = useState<Facets>(NO_FACETS);
  useEffect(() => {
    getJson<Facets>('/api/facets', new URLSearchParams({ since: '1h' }))
      .then(setVocabulary)
      .catch(() => undefined);
  }, []);
  useEffect(() => {
    const source = new EventSource(withBase(`/api/tail?${query}`));
    // EventSource reconnects by itself (a restart of the server), and a tail opened again starts
    // with the last seconds' records: those shown already are not shown twice.
    const shown = new RecentKeys(4000);
    // Live once the server says it receives from the collectors (event: status).
    source.onopen = () => setState('connecting');
    source.onerror = () => setState('reconnecting');
    // Why nothing can arrive (no collector reachable), until the server says it is live again.
    source.addEventListener('problem', (e) => setState(`no records can arrive: ${JSON.parse(e.data).error}`));
    source.addEventListener('status', () => setState('live'));
    source.onmessage = (e) => {
      if (pausedRef.current) return;
      const r = JSON.parse(e.data) as ApiRecord;
      const key = `${r.id}\u0000${r.body}`;
      if (!shown.add(key)) return;
      setLines((ls) => ls.concat(r).slice(-2000));
    };
    return () => source.close();
  }, [query]);
  return (
    <div className="tail" data-testid="tail">
      <div className="toolbar">
        <span className={`state ${state}`} data-testid="tail-state">
          {paused ? 'paused' : state}
        </span>
        <button onClick={() => setPaused((p) => !p)}>{paused ? 'Resume' : 'Pause'}</button>
        <button onClick={() => setLines([])}>Clear</button>
        <FilterBar path="/tail" params={props.params} vocabulary={vocabulary} submitLabel="Filter" />
      </div>
      <div className="lines">
        {lines.map((r) => (
          <div key={r.id} className="line" data-testid="tail-line">
            <span className="muted">{r.time.slice(11, 23)}</span>{' '}
            <span className={severityClass(r.severityNumber)}>
              {severityLabel(r.severityText, r.severityNumber)}
            </span>{' '}
            <b>{r.service}</b> {r.body}
          </div>
        ))}
      </div>
    </div>
  );
}
