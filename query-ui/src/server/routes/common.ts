import type { FastifyRequest } from 'fastify';
import type { SearchFilter } from '../filters';

// What the routes share: the filter parameters every filtered route takes, and the caller's read limit.
export const FILTER_PROPERTIES = {
  since: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  service: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
  scope: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
  tier: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
  attr: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
  has: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
  minSeverity: { type: 'string' },
  text: { type: 'string', maxLength: 1000 },
  regex: { type: 'string', maxLength: 1000 },
  traceId: { type: 'string' },
  spanId: { type: 'string' },
  q: { type: 'string', maxLength: 4000 },
} as const;

export type Query = Record<string, string | string[] | undefined>;

/** A route's options: its query string takes these properties and nothing else. */
export function querystring(properties: Record<string, unknown>) {
  return { schema: { querystring: { type: 'object', additionalProperties: false, properties } } };
}

/** The filter limited to what the caller may read (their tenants, when limited). */
export function readable(req: FastifyRequest, filter: SearchFilter): SearchFilter {
  const tenants = req.caller?.user.tenants;
  return tenants ? { ...filter, tenants } : filter;
}
