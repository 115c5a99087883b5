import { useCallback, useEffect, useState } from 'react';
import type { ApiRecord } from './api';
import { ApiError, getJson } from './api';
import type { FacetCounts } from './FacetsPanel';
import type { Bucket } from './Histogram';
import { rangeOf } from './FilterBar';

export interface Facets extends FacetCounts {
  services: string[];
  scopes: string[];
  attributeKeys: string[];
  tiers: string[];
}

export const NO_FACETS: Facets = {
  services: [],
  scopes: [],
  attributeKeys: [],
  tiers: [],
  total: 0,
  counts: { service: [], severity: [], logger: [], tier: [] },
  pinned: {},
};

/** A filter's query string with the default range (the last hour) when it names none. */
function withRange(query: string): URLSearchParams {
  const p = new URLSearchParams(query);
  if (!p.has('since') && !p.has('from')) p.set('since', '1h');
  return p;
}

/**
 * What the search page shows for a filter (its query string) and pinned attribute keys:
 * the first page of records (more as the list nears its end), the histogram and the
 * facets — fetched together, a newer filter cancelling an older one.
 */
export function useSearchResults(query: string, pinned: string[]) {
  const pinQuery = pinned.join(',');
  const [records, setRecords] = useState<ApiRecord[]>([]);
  const [cursor, setCursor] = useState<string | undefined>();
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<{ message: string; position?: number } | undefined>();
  const [histogram, setHistogram] = useState<{ buckets: Bucket[]; bucketMs: number }>({
    buckets: [],
    bucketMs: 60_000,
  });
  const [facets, setFacets] = useState<Facets>(NO_FACETS);
  const [range, setRange] = useState(rangeOf(new URLSearchParams(query)));

  useEffect(() => {
    const p = withRange(query);
    setRange(rangeOf(p));
    setLoading(true);
    setError(undefined);
    let cancelled = false;
    const pins = pinQuery
      .split(',')
      .filter(Boolean)
      .map((k) => ['pin', k]);
    Promise.all([
      getJson<{ records: ApiRecord[]; nextCursor?: string }>(
        '/api/search',
        new URLSearchParams([...p, ['limit', '1000']]),
      ),
      getJson<{ buckets: Bucket[]; bucketMs: number }>(
        '/api/histogram',
        new URLSearchParams([...p, ['buckets', '60']]),
      ),
      getJson<Facets>('/api/facets', new URLSearchParams([...p, ...pins])),
    ])
      .then(([page, hist, f]) => {
        if (cancelled) return;
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

  const loadMore = useCallback(() => {
    if (!cursor || loading) return;
    setLoading(true);
    const p = withRange(query);
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

  return { records, cursor, error, histogram, facets, range, loadMore };
}
