import type { ReactNode } from 'react';
import { useState } from 'react';

export interface FacetValue {
  value: string;
  count: number;
}

export interface FacetCounts {
  total: number;
  counts: { service: FacetValue[]; severity: FacetValue[]; logger: FacetValue[]; tier: FacetValue[] };
  pinned: Record<string, FacetValue[]>;
}

/**
 * Beside the results: the top values of service, severity, logger, tier and of the
 * attribute keys pinned, with their counts for the current query and range. Click a value
 * to keep only it, Alt-click (or the − button) to leave it out: the query text changes.
 */
export function FacetsPanel(props: {
  facets: FacetCounts | undefined;
  pinned: string[];
  attributeKeys: string[];
  onTerm: (field: string, value: string, exclude: boolean) => void;
  onPin: (key: string) => void;
  onUnpin: (key: string) => void;
}): ReactNode {
  const { facets } = props;
  const [pin, setPin] = useState('');
  const groups: Array<[string, string, FacetValue[]]> = facets
    ? [
        ['service', 'service', facets.counts.service],
        ['severity', 'severity', facets.counts.severity],
        ['logger', 'logger', facets.counts.logger],
        ['tier', 'tier', facets.counts.tier],
        ...props.pinned.map((k): [string, string, FacetValue[]] => [k, k, facets.pinned[k] ?? []]),
      ]
    : [];
  return (
    <aside className="facets" data-testid="facets">
      {groups.map(([title, field, values]) => (
        <section key={title} data-facet={title}>
          <h4>
            {title}
            {props.pinned.includes(title) && (
              <button className="link" title="unpin" onClick={() => props.onUnpin(title)}>
                ×
              </button>
            )}
          </h4>
          {values.length === 0 && <div className="muted">none</div>}
          {values.map((v) => (
            <div className="facet" key={v.value} data-value={v.value}>
              <button
                className="link facet-value"
                title="keep only this (Alt-click: leave it out)"
                onClick={(e) => props.onTerm(field, v.value, e.altKey)}
              >
                {v.value === '' ? '""' : v.value}
              </button>
              <span className="facet-count">{v.count}</span>
              <button
                className="link facet-exclude"
                title="leave this out"
                onClick={() => props.onTerm(field, v.value, true)}
              >
                −
              </button>
              <i
                className="facet-bar"
                style={{
                  width: `${facets && facets.total > 0 ? Math.max(2, (v.count / facets.total) * 100) : 0}%`,
                }}
              />
            </div>
          ))}
        </section>
      ))}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (pin.trim()) props.onPin(pin.trim());
          setPin('');
        }}
      >
        <input
          aria-label="pin attribute"
          placeholder="pin an attribute…"
          list="attribute-keys"
          value={pin}
          onChange={(e) => setPin(e.target.value)}
        />
        <datalist id="attribute-keys">
          {props.attributeKeys.map((k) => (
            <option key={k} value={k} />
          ))}
        </datalist>
      </form>
    </aside>
  );
}
