import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TlsConfig } from '@distlog/collector/auth';
import type { ApiLevelInstance, ApiLevelRule } from '../../shared/api-types';
import { ruleReach } from '../level-reach';

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
      const headers: Record<string, string> =
        req.method === 'POST' ? { 'Content-Type': 'application/json' } : {};
      // The collector checks the caller's own token (an admin's, to change levels).
      if (req.caller?.token) headers.Authorization = `Bearer ${req.caller.token}`;
      res = await request(`${collectorUrl}/v1/levels${query}`, {
        method: req.method,
        headers,
        body: req.method === 'POST' ? JSON.stringify(req.body ?? {}) : undefined,
        ca: options.tls ? (options.tls.ca ?? options.tls.cert) : undefined,
        // A collector that wants client certificates (tls.clientCaFile) gets this one.
        clientCert: options.tls?.clientCert,
        clientKey: options.tls?.clientKey,
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
    const res = await request(`${collectorUrl}/v1/levels`, {
      method: 'GET',
      headers: token ? { Authorization: `Bearer ${token}` } : {},
      ca: options.tls ? (options.tls.ca ?? options.tls.cert) : undefined,
      clientCert: options.tls?.clientCert,
      clientKey: options.tls?.clientKey,
    });
    if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
    return JSON.parse(res.body) as { instances: ApiLevelInstance[] };
  };
  app.get('/api/levels', levels);
  app.post('/api/levels', { schema: { body: { type: 'object' } } }, levels);
  app.delete('/api/levels', levels);
}

/** One HTTP(S) request; `ca` is trusted besides the system's authorities (a self-signed collector). */
function request(
  url: string,
  options: {
    method: string;
    headers: Record<string, string>;
    body?: string;
    ca?: Buffer;
    clientCert?: Buffer;
    clientKey?: Buffer;
  },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const client = target.protocol === 'https:' ? https : http;
    const req = client.request(
      target,
      {
        method: options.method,
        headers: options.headers,
        timeout: 10_000,
        ...(options.ca && target.protocol === 'https:' ? { ca: [...tlsRootCertificates(), options.ca] } : {}),
        ...(options.clientCert && options.clientKey
          ? { cert: options.clientCert, key: options.clientKey }
          : {}),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 502, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
    req.end(options.body);
  });
}

function tlsRootCertificates(): readonly string[] {
  return tls.rootCertificates;
}
