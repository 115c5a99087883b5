import type { ApiRecord } from './records';
import type { SearchFilter } from './filters';
import { FilterError } from './filters';
import { queryMatcher } from './query-language';

/**
 * A search filter as a test of one record, for records that never pass through a query
 * (live tail, pushed from the collectors). The same conditions as filters.ts compiles to
 * SQL, time range aside: services, minimum severity, loggers, text (case-insensitive),
 * regular expression, attributes, trace and span, tiers and the caller's tenants.
 */
export function recordFilter(f: SearchFilter): (r: ApiRecord) => boolean {
  let regex: RegExp | undefined;
  if (f.regex !== undefined) {
    try {
      regex = new RegExp(f.regex);
    } catch (err) {
      throw new FilterError(`regex: ${(err as Error).message}`);
    }
  }
  const text = f.text?.toLowerCase();
  const services = new Set(f.services);
  const scopes = new Set(f.scopes);
  const tiers = new Set(f.tiers);
  const tenants = f.tenants ? new Set(f.tenants) : undefined;
  const query = f.query ? queryMatcher(f.query) : () => true;
  return (r) =>
    query(r) &&
    (services.size === 0 || services.has(r.service)) &&
    r.severityNumber >= f.minSeverity &&
    (scopes.size === 0 || scopes.has(r.scope)) &&
    (text === undefined || r.body.toLowerCase().includes(text)) &&
    (regex === undefined || regex.test(r.body)) &&
    f.attributes.every(([k, v]) => r.attributes[k] === v) &&
    f.hasAttributes.every((k) => k in r.attributes) &&
    (f.traceId === undefined || r.traceId === f.traceId) &&
    (f.spanId === undefined || r.spanId === f.spanId) &&
    (tiers.size === 0 || tiers.has(r.tier)) &&
    (tenants === undefined || tenants.has(r.resource['distlog.tenant'] ?? ''));
}
