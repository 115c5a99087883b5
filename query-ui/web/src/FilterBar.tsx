import type { ReactNode, RefObject } from 'react';
import { useEffect, useState } from 'react';
import { SEVERITIES } from './api';
import type { Vocabulary } from './QueryBox';
import { QueryBox } from './QueryBox';
import { fieldTerm, setTerm, terms } from './query-text';
import { navigate } from './url';

/**
 * The filter bar of the search and the live tail: one query in the search language (the
 * box, with completions) that the dropdowns write into too, and — on the search — the
 * time range. Everything it sets goes to the page's URL.
 */
export const RANGES = ['5m', '15m', '1h', '6h', '24h', '7d', '30d'];
const UNIT: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** The time range a page's URL selects (default: the last hour). */
export function rangeOf(params: URLSearchParams): { fromMs: number; toMs: number } {
  const toMs = params.get('to') ? Date.parse(params.get('to')!) : Date.now();
  if (params.get('from')) return { fromMs: Date.parse(params.get('from')!), toMs };
  const m = /^(\d+)([smhd])$/.exec(params.get('since') ?? '1h');
  return { fromMs: toMs - (m ? Number(m[1]) * UNIT[m[2]] : 3_600_000), toMs };
}

/** The page's URL with `edit` applied to its parameters. */
export function withParam(path: string, params: URLSearchParams, edit: (p: URLSearchParams) => void): string {
  const next = new URLSearchParams(params);
  edit(next);
  return `${path}?${next}`;
}

export function removeValue(p: URLSearchParams, key: string, value: string): void {
  const rest = p.getAll(key).filter((v) => v !== value);
  p.delete(key);
  for (const v of rest) p.append(key, v);
}

/** The time inputs show UTC, as the results do (not the browser's zone: a range picked there would not match the times shown). */
function toUtcInput(iso: string | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return d.toISOString().slice(0, 16);
}

export function FilterBar(props: {
  /** The page's path ('/' or '/tail'): where changes navigate to. */
  path: string;
  params: URLSearchParams;
  vocabulary: Vocabulary;
  /** Show the time range (the search; the live tail has none). */
  timeRange?: boolean;
  submitLabel: string;
  error?: { message: string; position?: number };
  inputRef?: RefObject<HTMLInputElement | null>;
  /** What follows the controls: links, chips. */
  children?: ReactNode;
}): ReactNode {
  const { path, params, vocabulary } = props;
  const q = params.get('q') ?? '';
  const [text, setText] = useState(q);
  useEffect(() => setText(params.get('q') ?? ''), [params]);
  const go = (edit: (p: URLSearchParams) => void) => navigate(withParam(path, params, edit));
  const setQuery = (next: string) => go((p) => (next.trim() ? p.set('q', next.trim()) : p.delete('q')));
  // Absolute range: UTC date-times in the inputs (as the results show them), ISO 8601 in the URL.
  const setTime = (key: 'from' | 'to', utc: string) =>
    go((p) => {
      if (utc) p.set(key, new Date(`${utc}Z`).toISOString());
      else p.delete(key);
      if (p.get('from') && !p.get('to')) p.set('to', new Date().toISOString());
      p.delete('since');
    });
  return (
    <form
      className="filters"
      data-testid="filters"
      onSubmit={(e) => {
        e.preventDefault();
        setQuery(text);
      }}
    >
      {props.timeRange && (
        <>
          <select
            aria-label="time range"
            value={params.get('from') ? 'custom' : (params.get('since') ?? '1h')}
            onChange={(e) =>
              e.target.value !== 'custom' &&
              go((p) => {
                p.delete('from');
                p.delete('to');
                p.set('since', e.target.value);
              })
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
            value={toUtcInput(params.get('from'))}
            onChange={(e) => setTime('from', e.target.value)}
          />
          <input
            type="datetime-local"
            aria-label="to"
            value={toUtcInput(params.get('to'))}
            onChange={(e) => setTime('to', e.target.value)}
          />
          <span className="muted">UTC</span>
        </>
      )}
      <FieldSelect
        field="service"
        anyLabel="any service"
        values={vocabulary.services}
        q={q}
        onQuery={setQuery}
      />
      <select
        aria-label="minimum severity"
        value={termValue(q, 'severity', '>=')?.toUpperCase() ?? params.get('minSeverity') ?? ''}
        onChange={(e) =>
          setQuery(setTerm(q, 'severity', e.target.value ? `severity>=${e.target.value.toLowerCase()}` : ''))
        }
      >
        <option value="">any severity</option>
        {SEVERITIES.map((s) => (
          <option key={s} value={s}>
            ≥ {s}
          </option>
        ))}
      </select>
      <FieldSelect
        field="logger"
        anyLabel="any logger"
        values={vocabulary.scopes}
        q={q}
        fallback={params.get('scope')}
        onQuery={setQuery}
      />
      <QueryBox
        value={text}
        onChange={setText}
        onSubmit={setQuery}
        vocabulary={vocabulary}
        error={props.error?.position !== undefined ? props.error : undefined}
        inputRef={props.inputRef}
      />
      <button type="submit">{props.submitLabel}</button>
      {props.children}
    </form>
  );
}

/** The value of a field's term in the query (`service:orders` → orders), if it has one. */
function termValue(q: string, field: string, op = ':'): string | undefined {
  const t = terms(q).find((x) => x.startsWith(`${field}${op}`));
  return t?.slice(field.length + op.length).replace(/^"|"$/g, '');
}

/** A dropdown that writes one field's term into the query (replacing the field's terms). */
function FieldSelect(props: {
  field: string;
  anyLabel: string;
  values: string[];
  q: string;
  fallback?: string | null;
  onQuery: (q: string) => void;
}): ReactNode {
  const { field, q } = props;
  return (
    <select
      aria-label={field}
      value={termValue(q, field) ?? props.fallback ?? ''}
      onChange={(e) =>
        props.onQuery(setTerm(q, field, e.target.value ? fieldTerm(field, e.target.value) : ''))
      }
    >
      <option value="">{props.anyLabel}</option>
      {props.values.map((s) => (
        <option key={s}>{s}</option>
      ))}
    </select>
  );
}
