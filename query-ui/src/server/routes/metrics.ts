import type { FastifyInstance } from 'fastify';
import type { ClickHouse } from '@distlog/collector/storage';
import { TENANT_ATTRIBUTE } from '@distlog/collector/auth';
import { MetricReader } from '../metrics';
import { parseMetricQuery } from '../metric-query';
import type { Query } from './common';

export function registerMetricRoutes(app: FastifyInstance, ch: ClickHouse): void {
  // Declared metrics (the collector's `metrics:`), read from their rollups.
  const metricReader = new MetricReader(ch);
  // Readers limited to tenants see the metrics grouped by tenant (the only ones they may read).
  app.get('/api/metrics', async (req) => ({
    metrics: (await metricReader.list()).filter(
      (m) => !req.caller?.user.tenants || m.by.includes(`resource.${TENANT_ATTRIBUTE}`),
    ),
  }));
  app.get(
    '/api/metrics/:name',
    {
      schema: {
        params: { type: 'object', properties: { name: { type: 'string', maxLength: 200 } } },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            since: { type: 'string' },
            from: { type: 'string' },
            to: { type: 'string' },
            by: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
            where: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
            step: { type: 'string' },
            limit: { type: 'integer', minimum: 1, maximum: 1000 },
            quantiles: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
          },
        },
      },
    },
    async (req) =>
      metricReader.read((req.params as { name: string }).name, {
        ...parseMetricQuery(req.query as Query),
        tenants: req.caller?.user.tenants,
      }),
  );
}
