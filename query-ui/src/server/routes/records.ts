import type { FastifyInstance } from 'fastify';
import type { ClickHouse } from '@distlog/collector/storage';
import { parseFilter } from '../filters';
import type { Queries } from '../queries';
import { findPatterns } from '../patterns';
import type { Query } from './common';
import { FILTER_PROPERTIES, querystring, readable } from './common';

/** Finding records: search, histogram, facets, patterns, a trace, a record's context, the SQL console. */
export function registerRecordRoutes(
  app: FastifyInstance,
  queries: Queries,
  options: { ch: ClickHouse; sqlMaxSeconds?: number; sqlMaxRows?: number },
): void {
  app.get('/api/health', async () => ({ ok: true }));

  app.get(
    '/api/search',
    querystring({
      ...FILTER_PROPERTIES,
      limit: { type: 'integer', minimum: 1, maximum: 10_000 },
      cursor: { type: 'string' },
    }),
    async (req) => {
      const q = req.query as Query & { limit?: number; cursor?: string };
      return queries.search(readable(req, parseFilter(q)), q.limit ?? 100, q.cursor);
    },
  );

  app.get(
    '/api/histogram',
    querystring({ ...FILTER_PROPERTIES, buckets: { type: 'integer', minimum: 1, maximum: 1000 } }),
    async (req) => {
      const q = req.query as Query & { buckets?: number };
      return queries.histogram(readable(req, parseFilter(q)), q.buckets ?? 60);
    },
  );

  app.get(
    '/api/facets',
    querystring({
      ...FILTER_PROPERTIES,
      pin: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
    }),
    async (req) => {
      const q = req.query as Query;
      const pin = (Array.isArray(q.pin) ? q.pin : q.pin ? [q.pin] : []).filter(Boolean).slice(0, 10);
      return queries.facets(readable(req, parseFilter(q)), pin);
    },
  );

  app.get(
    '/api/patterns',
    querystring({
      ...FILTER_PROPERTIES,
      limit: { type: 'integer', minimum: 1, maximum: 1000 },
      new: { type: 'boolean' },
      sort: { type: 'string', enum: ['count', 'errors'] },
    }),
    async (req) => {
      const q = req.query as Query & { limit?: number; new?: boolean; sort?: string };
      return findPatterns(options.ch, readable(req, parseFilter(q)), {
        limit: q.limit,
        newFirst: q.new,
        byErrors: q.sort === 'errors',
      });
    },
  );

  app.get(
    '/api/trace/:traceId',
    {
      schema: {
        params: { type: 'object', properties: { traceId: { type: 'string', pattern: '^[0-9a-fA-F]{32}$' } } },
      },
    },
    async (req) =>
      queries.trace((req.params as { traceId: string }).traceId.toLowerCase(), req.caller?.user.tenants),
  );

  app.get(
    '/api/context/:id',
    {
      schema: {
        params: { type: 'object', properties: { id: { type: 'string', maxLength: 2000 } } },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            before: { type: 'integer', minimum: 0, maximum: 1000 },
            after: { type: 'integer', minimum: 0, maximum: 1000 },
          },
        },
      },
    },
    async (req, reply) => {
      const q = req.query as { before?: number; after?: number };
      const result = await queries.context(
        (req.params as { id: string }).id,
        q.before ?? 20,
        q.after ?? 20,
        req.caller?.user.tenants,
      );
      if (!result.record) return reply.code(404).send({ error: 'no record with this id' });
      return result;
    },
  );

  app.post(
    '/api/sql',
    {
      schema: {
        body: {
          type: 'object',
          required: ['sql'],
          additionalProperties: false,
          properties: { sql: { type: 'string', minLength: 1, maxLength: 100_000 } },
        },
      },
    },
    async (req) =>
      queries.sql(
        (req.body as { sql: string }).sql,
        options.sqlMaxSeconds ?? 10,
        options.sqlMaxRows ?? 10_000,
      ),
  );
}
