import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TlsConfig } from '@distlog/collector/auth';
import type { ApiLevelInstance, ApiLevelRule } from '../../shared/api-types';
import { ruleReach } from '../level-reach';
import { requestToCollector } from '../collectors';

export function registerLevelRoutes(
  app: FastifyInstance,
  options: { collectorUrl?: string; tls?: TlsConfig },
): void {
  // Level control lives in the collector; the API passes requests on (body and status as they are).
  const collectorUrl = (
    options.collectorUrl ??
    process.env.DISTLOG_COLLECTOR_URL ??
    'http://127.0.0.1:4318'
  ).replace(/\/+$/, '');
  const levels = async (req: FastifyRequest, reply: FastifyReply) => {
    const query = req.url.includes('?') ? req.url.slice(req.url.indexOf('?')) : '';
    let res: { status: number; body: string };
    try {
      // The collector checks the caller's own token (an admin's, to change levels).
      res = await request(`${collectorUrl}/v1/levels${query}`, {
        method: req.method,
        token: req.caller?.token,
        tls: options.tls,
        body: req.method === 'POST' ? JSON.stringify(req.body ?? {}) : undefined,
      });
    } catch (err) {
      return reply
        .code(502)
        .send({ error: `the collector at ${collectorUrl} is unreachable (${(err as Error).message})` });
    }
    if (req.method === 'POST' && res.status === 201) {
      // What the new rule reaches now, said when it is nothing (a mistyped service, a logger
      // no process has): the CLI and the web UI show these notes.
      const { rule } = JSON.parse(res.body) as { rule: ApiLevelRule };
      const notes = await current(req.caller?.token)
        .then(({ instances }) => ruleReach(rule, instances))
        .catch(() => []);
      return reply.code(201).send({ ...(JSON.parse(res.body) as object), notes });
    }
    return reply.code(res.status).type('application/json').send(res.body);
  };
  /** The collector's rules and subscribed processes, as GET /api/levels answers them. */
  const current = async (token: string | undefined): Promise<{ instances: ApiLevelInstance[] }> => {
    const res = await request(`${collectorUrl}/v1/levels`, { method: 'GET', token, tls: options.tls });
    if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
    return JSON.parse(res.body) as { instances: ApiLevelInstance[] };
  };
  app.get('/api/levels', levels);
  app.post('/api/levels', { schema: { body: { type: 'object' } } }, levels);
  app.delete('/api/levels', levels);
}

/** One request to the collector's level control, its answer read whole (see requestToCollector). */
function request(
  url: string,
  options: { method: string; token: string | undefined; tls: TlsConfig | undefined; body?: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = requestToCollector(new URL(url), {
      method: options.method,
      token: options.token,
      tls: options.tls,
      headers: options.body !== undefined ? { 'Content-Type': 'application/json' } : {},
      timeout: 10_000,
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 502, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
    req.end(options.body);
  });
}
