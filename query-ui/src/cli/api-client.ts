// The console verbs read through the query API (DISTLOG_API, default http://127.0.0.1:4320), with DISTLOG_TOKEN.
import { parseArgs } from 'node:util';
import { UsageError } from './settings';

export const FILTER_OPTIONS = {
  service: { type: 'string', multiple: true },
  scope: { type: 'string', multiple: true },
  tier: { type: 'string', multiple: true },
  attr: { type: 'string', multiple: true },
  has: { type: 'string', multiple: true },
  'min-severity': { type: 'string' },
  text: { type: 'string' },
  regex: { type: 'string' },
  trace: { type: 'string' },
  since: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  limit: { type: 'string' },
  before: { type: 'string' },
  after: { type: 'string' },
  json: { type: 'boolean' },
  api: { type: 'string' },
  'on-error': { type: 'boolean' },
} as const;

export type Flags = ReturnType<typeof parseFlags>['values'];

export function parseFlags(args: string[], usage: string) {
  try {
    return parseArgs({ args, options: FILTER_OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\nusage: ${usage}`);
  }
}

/**
 * Where the console verbs ask: `--api`, DISTLOG_API, else the query server `distlog up`
 * starts on this machine — on DISTLOG_UI_PORT when that is set (as it is for `distlog up`
 * in the same shell), else 4320.
 */
export function apiBase(flags: { api?: string }): string {
  const port = Number(process.env.DISTLOG_UI_PORT) || 4320;
  return (flags.api ?? process.env.DISTLOG_API ?? `http://127.0.0.1:${port}`).replace(/\/+$/, '');
}

/** The filter flags, and the positional words as a query in the search language (`q`). */
export function filterParams(flags: Flags, positionals: string[] = []): URLSearchParams {
  const p = new URLSearchParams();
  const query = positionals.join(' ').trim();
  if (query) p.set('q', query);
  for (const s of flags.service ?? []) p.append('service', s);
  for (const s of flags.scope ?? []) p.append('scope', s);
  for (const s of flags.tier ?? []) p.append('tier', s);
  for (const s of flags.attr ?? []) p.append('attr', s);
  for (const s of flags.has ?? []) p.append('has', s);
  if (flags['min-severity']) p.set('minSeverity', flags['min-severity']);
  if (flags.text) p.set('text', flags.text);
  if (flags.regex) p.set('regex', flags.regex);
  if (flags.trace) p.set('traceId', flags.trace);
  if (flags.since) p.set('since', flags.since);
  if (flags.from) p.set('from', flags.from);
  if (flags.to) p.set('to', flags.to);
  return p;
}

export async function getJson<T>(url: string): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, { headers: authHeaders() });
  } catch (err) {
    throw new Error(
      `cannot reach the Distlog API at ${new URL(url).origin} (${(err as Error).message}); is \`distlog up\` running? Set DISTLOG_API otherwise`,
      { cause: err },
    );
  }
  return apiAnswer<T>(res, url);
}

/**
 * The API's JSON answer, or its error as an Error. An answer that is not JSON did not come
 * from the Distlog API — typically a reverse proxy's own page because DISTLOG_API lacks the
 * path the proxy serves Distlog under — and is said so, instead of a JSON parse error.
 */
export async function apiAnswer<T>(res: Response, url: string): Promise<T> {
  const type = res.headers.get('content-type') ?? '';
  if (!/[/+]json\b/.test(type)) {
    await res.body?.cancel();
    throw new Error(
      `${url.split('?')[0]} answered HTTP ${res.status}${type ? ` with ${type.split(';')[0]}` : ''}, not the Distlog API: ` +
        'is DISTLOG_API right (behind a reverse proxy, with the path it serves Distlog under, e.g. https://ops.example.com/distlog)?',
    );
  }
  const body = (await res.json()) as T & { error?: string };
  if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`);
  return body;
}

/** DISTLOG_TOKEN (a user token from auth.users) as a bearer header; never a command-line flag. */
export function authHeaders(): Record<string, string> {
  const token = process.env.DISTLOG_TOKEN?.trim();
  return token ? { Authorization: `Bearer ${token}` } : {};
}
