/**
 * Where the UI is served from: '' at a host's root, or the path a reverse proxy gives it
 * (`/distlog`). The query server writes it into the page as `<base href>` (its
 * DISTLOG_UI_BASE_PATH, or the proxy's X-Forwarded-Prefix); the page's own paths (`/`,
 * `/trace/…`, `/api/…`) are the app's, and go through withBase() on their way to the browser.
 */
export const BASE = new URL(document.baseURI).pathname.replace(/\/+$/, '');

/** An app path (`/trace/…`, `/api/search`) as the browser must ask for it. */
export function withBase(path: string): string {
  return BASE + path;
}

/** The app path of a browser path (the base taken off). */
export function withoutBase(pathname: string): string {
  if (BASE === '' || !pathname.startsWith(BASE)) return pathname;
  return pathname.slice(BASE.length) || '/';
}
