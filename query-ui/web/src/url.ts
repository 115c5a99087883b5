import { useEffect, useState } from 'react';
import { withBase, withoutBase } from './base';

/**
 * The page's state lives in its URL (path + query string), so a link can be shared.
 * navigate() pushes a history entry; useLocation() re-renders on back/forward. Paths here
 * are the app's (`/trace/…`); the base the UI is served under is added and taken off here.
 */
export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, '', withBase(to));
  else history.pushState(null, '', withBase(to));
  window.dispatchEvent(new Event('distlog:navigate'));
}

export function useLocation(): { path: string; params: URLSearchParams } {
  const read = () => ({ path: withoutBase(location.pathname), params: new URLSearchParams(location.search) });
  const [loc, setLoc] = useState(read);
  useEffect(() => {
    const update = () => setLoc(read());
    window.addEventListener('popstate', update);
    window.addEventListener('distlog:navigate', update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener('distlog:navigate', update);
    };
  }, []);
  return loc;
}

/** The filter keys shared by search, histogram, facets and tail. */
export const FILTER_KEYS = [
  'since',
  'from',
  'to',
  'service',
  'scope',
  'tier',
  'attr',
  'has',
  'minSeverity',
  'text',
  'regex',
  'traceId',
  'spanId',
  'q',
];

export function filterParams(params: URLSearchParams): URLSearchParams {
  const out = new URLSearchParams();
  for (const [k, v] of params) if (FILTER_KEYS.includes(k) && v !== '') out.append(k, v);
  return out;
}
