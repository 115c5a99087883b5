import { durationMs } from '@distlog/proto';
import { InputError } from './api-errors';
import { SEVERITY_TEXT_BY_NUMBER } from '@distlog/collector/model';
import type { QueryNode } from './query-language';
import { parseQuery, requiredText } from './query-language';

/**
 * Search filters, parsed once from a request, then turned into SQL only here: every
 * string value goes through the collector's one SQL module (SqlValues: a `{pN:String}`
 * query parameter where the server has them, an escaped literal on 18.16), every number
 * through intLiteral.
 */
export interface SearchFilter {
  fromMs: number;
  toMs: number;
  services: string[];
  minSeverity: number;
  scopes: string[];
  /** Case-insensitive substring of the body. */
  text?: string;
  /** Regular expression (RE2) on the body. */
  regex?: string;
  /** key → value equality. */
  attributes: Array<[string, string]>;
  /** Keys that must be present. */
  hasAttributes: string[];
  traceId?: string;
  /** One scope (span) of a trace. */
  spanId?: string;
  tiers: string[];
  /** Only records of these tenants (resource attribute distlog.tenant): a user's read limit. */
  tenants?: readonly string[];
  /** The search language (`q=`, query-language.ts), parsed; ANDed with the other filters. */
  query?: QueryNode;
}

/** A filter parameter that is not valid (400, naming the parameter). */
export class FilterError extends InputError {
  constructor(message: string) {
    super(message);
    this.name = 'FilterError';
  }
}

/** `15m`, `2h`, `7d` → milliseconds. */
export function parseSince(value: string): number {
  const ms = durationMs(value, ['s', 'm', 'h', 'd']);
  if (ms === undefined)
    throw new FilterError(`since: expected a duration such as 15m, 2h or 7d, got ${JSON.stringify(value)}`);
  return ms;
}

/** A date, or a date and time, without a zone: `2026-12-07`, `2026-12-07T07:52`, `2026-12-07 07:52:05.123`. */
const ZONELESS = /^(\d{4}-\d\d-\d\d)(?:[T ](\d\d:\d\d(?::\d\d(?:\.\d+)?)?))?$/;

/**
 * ISO 8601 or milliseconds since the epoch. A time without a zone is UTC — the zone every
 * time is shown in (console, web UI, API) — never the zone of the machine the query server
 * happens to run on: a time copied from `distlog search` output into `--from` means what it
 * said wherever the server is.
 */
export function parseTime(name: string, value: string): number {
  const zoneless = ZONELESS.exec(value.trim());
  const ms = /^\d+$/.test(value)
    ? Number(value)
    : Date.parse(zoneless ? `${zoneless[1]}T${zoneless[2] ?? '00:00'}Z` : value);
  if (!Number.isFinite(ms))
    throw new FilterError(
      `${name}: expected an ISO 8601 time or milliseconds since the epoch, got ${JSON.stringify(value)}`,
    );
  return ms;
}

export function parseSeverity(value: string): number {
  if (/^\d+$/.test(value) && Number(value) <= 24) return Number(value);
  const n = SEVERITY_TEXT_BY_NUMBER.indexOf(value.toUpperCase());
  if (n <= 0)
    throw new FilterError(
      `minSeverity: expected TRACE, DEBUG, INFO, WARN, ERROR, FATAL or 1-24, got ${JSON.stringify(value)}`,
    );
  return n;
}

type Query = Record<string, string | string[] | undefined>;

const list = (v: string | string[] | undefined): string[] =>
  (v === undefined ? [] : Array.isArray(v) ? v : [v]).filter((x) => x !== '');
const one = (v: string | string[] | undefined): string | undefined =>
  (Array.isArray(v) ? v[v.length - 1] : v) || undefined;

export function parseFilter(q: Query, now = Date.now()): SearchFilter {
  const toMs = q.to ? parseTime('to', one(q.to)!) : now;
  const fromMs = q.from ? parseTime('from', one(q.from)!) : toMs - parseSince(one(q.since) ?? '1h');
  if (fromMs > toMs) throw new FilterError('from: must not be after to');
  const traceId = one(q.traceId)?.toLowerCase();
  if (traceId !== undefined && !/^[0-9a-f]{32}$/.test(traceId))
    throw new FilterError(`traceId: expected 32 hex digits, got ${JSON.stringify(traceId)}`);
  const regex = one(q.regex);
  const query = parseQuery(one(q.q) ?? '');
  const spanId = one(q.spanId)?.toLowerCase();
  if (spanId !== undefined && !/^[0-9a-f]{16}$/.test(spanId))
    throw new FilterError(`spanId: expected 16 hex digits, got ${JSON.stringify(spanId)}`);
  return {
    fromMs,
    toMs,
    services: list(q.service),
    minSeverity: q.minSeverity ? parseSeverity(one(q.minSeverity)!) : 0,
    scopes: list(q.scope),
    // A text every match of the query contains also narrows the read as `text` does (word index, PREWHERE).
    text: one(q.text) ?? requiredText(query),
    regex,
    attributes: list(q.attr).map((a) => {
      const i = a.indexOf('=');
      if (i <= 0) throw new FilterError(`attr: expected key=value, got ${JSON.stringify(a)}`);
      return [a.slice(0, i), a.slice(i + 1)] as [string, string];
    }),
    hasAttributes: list(q.has),
    traceId,
    spanId,
    tiers: list(q.tier),
    ...(query ? { query } : {}),
  };
}
