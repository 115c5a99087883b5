import type { ReactNode } from 'react';
import { useEffect, useRef, useState } from 'react';
import type { ApiRecord } from './api';
import { SEVERITIES, severityClass } from './api';
import { filterParams, navigate } from './url';

/** Live tail: records pushed by the server (SSE) as they arrive, with pause and filters from the URL. */
export function TailPage(props: { params: URLSearchParams }): ReactNode {
  const [lines, setLines] = useState<ApiRecord[]>([]);
  const [paused, setPaused] = useState(false);
  const [state, setState] = useState('connecting');
  const pausedRef = useRef(paused);
  pausedRef.current = paused;
  const query = filterParams(props.params).toString();
  useEffect(() => {
    const source = new EventSource(`/api/tail?${query}`);
    // Live once the server says it receives from the collectors (event: status).
    source.onopen = () => setState('connecting');
    source.onerror = () => setState('reconnecting');
    // Why nothing can arrive (no collector reachable), until the server says it is live again.
    source.addEventListener('problem', (e) => setState(`no records can arrive: ${JSON.parse(e.data).error}`));
    source.addEventListener('status', () => setState('live'));
    source.onmessage = (e) => {
      if (pausedRef.current) return;
      const r = JSON.parse(e.data) as ApiRecord;
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
        <form
          className="filters"
          onSubmit={(e) => {
            e.preventDefault();
            const form = new FormData(e.currentTarget);
            const next = new URLSearchParams();
            for (const key of ['service', 'minSeverity', 'text', 'q']) {
              const v = String(form.get(key) ?? '').trim();
              if (v) next.set(key, v);
            }
            navigate(`/tail?${next}`);
          }}
        >
          <input
            name="service"
            aria-label="tail service"
            placeholder="service"
            defaultValue={props.params.get('service') ?? ''}
          />
          <select
            name="minSeverity"
            aria-label="tail minimum severity"
            defaultValue={props.params.get('minSeverity') ?? ''}
          >
            <option value="">any severity</option>
            {SEVERITIES.map((s) => (
              <option key={s} value={s}>
                ≥ {s}
              </option>
            ))}
          </select>
          <input
            name="text"
            aria-label="tail text"
            placeholder="text in message…"
            defaultValue={props.params.get('text') ?? ''}
          />
          <input
            name="q"
            aria-label="tail query"
            className="tail-query"
            placeholder="query: service:payments -message:health*"
            spellCheck={false}
            defaultValue={props.params.get('q') ?? ''}
          />
          <button type="submit">Filter</button>
        </form>
      </div>
      <div className="lines">
        {lines.map((r) => (
          <div key={r.id} className="line" data-testid="tail-line">
            <span className="muted">{r.time.slice(11, 23)}</span>{' '}
            <span className={severityClass(r.severityNumber)}>{r.severityText}</span> <b>{r.service}</b>{' '}
            {r.body}
          </div>
        ))}
      </div>
    </div>
  );
}
