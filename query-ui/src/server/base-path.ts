/**
 * The path the web UI is served under behind a reverse proxy (`/distlog`), as a base:
 * '' for a host's root, else `/a/b` without a trailing slash. Undefined when `value` is not
 * a plain path (letters, digits, `._~-` between slashes): it goes into the page's HTML.
 */
export function normalizeBasePath(value: string | undefined): string | undefined {
  const v = (value ?? '').trim();
  if (v === '' || v === '/') return '';
  if (!/^(\/[A-Za-z0-9._~-]+)+\/?$/.test(v) || /(^|\/)\.\.?(\/|$)/.test(v)) return undefined;
  return v.replace(/\/$/, '');
}

/**
 * The request path with the base taken off, for a proxy that passes its path on
 * (`/distlog/api/search` → `/api/search`); others are left as they are (a proxy that
 * strips its path, or a visit to the server itself).
 */
export function stripBasePath(url: string, base: string): string {
  if (base === '' || !url.startsWith(base)) return url;
  const rest = url.slice(base.length);
  if (rest === '') return '/';
  if (rest.startsWith('?')) return `/${rest}`;
  return rest.startsWith('/') ? rest : url;
}
