import { existsSync, readFileSync, promises as fs } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Fastify from 'fastify';
import type { Authenticator, TlsConfig, ThrottleOptions } from '@distlog/collector/auth';
import type { ClickHouse } from '@distlog/collector/storage';
import { FailureThrottle, TENANT_ATTRIBUTE } from '@distlog/collector/auth';
import { OPEN_AUTH, registerAuth } from './auth';
import { Sessions } from './sessions';
import type { SearchFilter } from './filters';
import { FilterError, parseFilter } from './filters';
import { Queries } from './queries';
import type { ApiRecord } from './records';
import { recordFilter } from './record-filter';
import { TailFeed } from './tail-feed';
import { MetricReader } from './metrics';
import { findPatterns } from './patterns';
import { parseMetricQuery } from './metric-query';
import { QuerySyntaxError } from './query-language';

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
};

export const WEB_DIR = path.resolve(__dirname, '../../dist/web');

export interface AppOptions {
  ch: ClickHouse;
  /** Built web UI (default: query-ui/dist/web); the API works without it. */
  webDir?: string;
  /** SQL console limits. Defaults 10 s and 10 000 rows. */
  sqlMaxSeconds?: number;
  sqlMaxRows?: number;
  /** The collector's HTTP endpoint, for level control (/api/levels). Default DISTLOG_COLLECTOR_URL or http://127.0.0.1:4318. */
  collectorUrl?: string;
  /** Users and roles (see ./auth.ts); default open. */
  auth?: Authenticator;
  /** Wrong tokens allowed per client address (FailureThrottle, in the collector package); default 10 a minute. */
  throttle?: ThrottleOptions;
  /**
   * Reverse proxies (addresses or CIDR ranges) whose X-Forwarded-For names the client:
   * the address that the wrong-token throttle counts. Default none: the peer's address.
   */
  trustProxy?: string[];
  /** Serve HTTPS with this certificate; its `ca` (else the certificate itself) is trusted when calling an https collector. */
  tls?: TlsConfig;
}

const FILTER_PROPERTIES = {
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

type Query = Record<string, string | string[] | undefined>;

/** A route's options: its query string takes these properties and nothing else. */
function querystring(properties: Record<string, unknown>) {
  return { schema: { querystring: { type: 'object', additionalProperties: false, properties } } };
}

/** The query API (and the web UI's static files) as a Fastify app; tests call it with inject(). */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.tls ? { https: { cert: options.tls.cert, key: options.tls.key } } : {}),
    logger: false,
    // Live-tail streams never end by themselves: closing the server ends them.
    forceCloseConnections: true,
    routerOptions: { maxParamLength: 2000 },
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false } },
    ...(options.trustProxy?.length ? { trustProxy: options.trustProxy } : {}),
  });
  const queries = new Queries(options.ch);
  const tailFeed = new TailFeed(options.ch, options.auth ?? OPEN_AUTH, options.tls);
  app.addHook('onClose', async () => tailFeed.stop());
  const auth = options.auth ?? OPEN_AUTH;
  registerAuth(
    app as unknown as FastifyInstance,
    auth,
    options.tls !== undefined,
    new FailureThrottle(options.throttle),
    new Sessions(auth, options.ch),
  );

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, _req, reply) => {
    if (err instanceof QuerySyntaxError)
      return reply.code(400).send({ error: err.message, position: err.position });
    if (err instanceof FilterError || err.validation) return reply.code(400).send({ error: err.message });
    if (err.statusCode && err.statusCode < 500)
      return reply.code(err.statusCode).send({ error: err.message });
    // ClickHouse refusing user input (a bad regular expression, SQL in the console): the user's to fix.
    const userError = clickHouseUserError(err);
    if (userError) return reply.code(400).send({ error: userError });
    if (/^(cursor|record id):/.test(err.message)) return reply.code(400).send({ error: err.message });
    return reply.code(500).send({ error: err.message });
  });

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

  app.get('/api/tail', querystring(FILTER_PROPERTIES), (req, reply) => tail(req, reply, tailFeed, queries));

  // Declared metrics (the collector's `metrics:`), read from their rollups.
  const metricReader = new MetricReader(options.ch);
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
    return reply.code(res.status).type('application/json').send(res.body);
  };
  app.get('/api/levels', levels);
  app.post('/api/levels', { schema: { body: { type: 'object' } } }, levels);
  app.delete('/api/levels', levels);

  const webDir = options.webDir ?? WEB_DIR;
  if (existsSync(path.join(webDir, 'index.html'))) {
    const index = readFileSync(path.join(webDir, 'index.html'));
    // The built UI is a handful of files: served here rather than through a static-files plugin.
    app.get('/assets/*', async (req, reply) => {
      const name = (req.params as { '*': string })['*'];
      if (!/^[\w.-]+$/.test(name)) return reply.code(404).send({ error: 'no such asset' });
      try {
        const body = await fs.readFile(path.join(webDir, 'assets', name));
        return reply
          .type(CONTENT_TYPES[path.extname(name)] ?? 'application/octet-stream')
          .header('Cache-Control', 'public, max-age=31536000, immutable')
          .send(body);
      } catch {
        return reply.code(404).send({ error: 'no such asset' });
      }
    });
    // The UI's routes (/, /trace/…, /tail, /sql) are client-side: serve the page for them.
    app.setNotFoundHandler((req, reply) => {
      if (req.method === 'GET' && !req.url.startsWith('/api/'))
        return reply.type('text/html; charset=utf-8').send(index);
      return reply.code(404).send({ error: `no route for ${req.method} ${req.url.split('?')[0]}` });
    });
  }
  return app as unknown as FastifyInstance;
}

/** The filter limited to what the caller may read (their tenants, when limited). */
function readable(req: FastifyRequest, filter: SearchFilter): SearchFilter {
  const tenants = req.caller?.user.tenants;
  return tenants ? { ...filter, tenants } : filter;
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

/**
 * Live tail over server-sent events: the last matching records once (one query when the
 * tail opens), then the records pushed from the collectors (TailFeed) that match the
 * viewer's filter, as they are acknowledged — nothing more is read from ClickHouse.
 * `event: status` says which collectors are connected (and which cannot be reached) when
 * the stream opens and whenever that changes; `event: problem` says why nothing can arrive.
 */
function tail(req: FastifyRequest, reply: FastifyReply, feed: TailFeed, queries: Queries): void {
  const filter = readable(req, parseFilter({ ...(req.query as Query), since: '1m' }));
  const matches = recordFilter(filter);
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-cache',
    Connection: 'keep-alive',
  });
  res.write(': distlog live tail\n\n');
  let closed = false;
  let unsubscribe: (() => void) | undefined;
  let lastStatus = '';
  const status = () => {
    const problem = feed.problem();
    const notice = JSON.stringify(problem ? { error: problem } : feed.notice());
    if (notice === lastStatus) return;
    lastStatus = notice;
    res.write(`event: ${problem ? 'problem' : 'status'}\ndata: ${notice}\n\n`);
  };
  const statusTimer = setInterval(status, 2000);
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
  req.raw.on('close', () => {
    closed = true;
    clearInterval(statusTimer);
    clearInterval(keepAlive);
    unsubscribe?.();
  });
  // Pushed records wait while the backlog is read, so that they follow it in order.
  let waiting: ApiRecord[] | undefined = [];
  const send = (r: ApiRecord) => res.write(`data: ${JSON.stringify(r)}\n\n`);
  void feed
    .subscribe((records) => {
      for (const r of records) {
        if (!matches(r)) continue;
        if (waiting) waiting.push(r);
        else send(r);
      }
    })
    .then(async (stop) => {
      if (closed) return stop();
      unsubscribe = stop;
      // The backlog: what matched in the last BACKLOG_MS, read once when the tail opens (the
      // stream itself reads nothing from ClickHouse); a record also pushed meanwhile is sent once.
      const sent = new Set<string>();
      try {
        const since = BigInt(Date.now() - BACKLOG_MS) * 1_000_000n;
        const backlog = await queries.since(
          { ...filter, fromMs: Date.now() - BACKLOG_MS - 1000, toMs: Date.now() + 60_000 },
          since,
          1000,
        );
        for (const r of backlog.slice(-BACKLOG_RECORDS)) {
          sent.add(r.id);
          send(r);
        }
      } catch (err) {
        res.write(
          `event: problem\ndata: ${JSON.stringify({ error: `the last records could not be read: ${(err as Error).message}` })}\n\n`,
        );
      }
      for (const r of waiting ?? []) if (!sent.has(r.id)) send(r);
      waiting = undefined;
      status();
    });
}

/** What a tail shows when it opens: the matching records of the last 10 s, at most 200. */
const BACKLOG_MS = 10_000;
const BACKLOG_RECORDS = 200;

export interface QueryServer {
  port: number;
  stop(): Promise<void>;
}

export async function startQueryServer(
  options: AppOptions & { host?: string; port?: number },
): Promise<QueryServer> {
  const app = await buildApp(options);
  await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 4320 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 4320);
  return { port, stop: () => app.close() };
}

/**
 * ClickHouse error codes that mean "the request was wrong" (bad regular expression, SQL
 * syntax, read-only, time limit, unknown name, …): answered 400 with ClickHouse's own
 * words. Old servers send `Code: N, e.displayText() = DB::Exception: …`; new clients
 * give the code as a property.
 */
const USER_ERROR_CODES = new Set([6, 16, 27, 36, 42, 43, 46, 47, 53, 60, 62, 81, 159, 164, 215, 396, 427]);

function clickHouseUserError(err: Error): string | undefined {
  const m = /^Code: (\d+)/.exec(err.message);
  const code = m ? Number(m[1]) : Number((err as { code?: unknown }).code);
  if (!USER_ERROR_CODES.has(code)) return undefined;
  const text = /DB::Exception: ([\s\S]*?)(?:, e\.what\(\) = |$)/.exec(err.message)?.[1] ?? err.message;
  return `ClickHouse refused the query (code ${code}): ${text.split('\n')[0].trim()}`;
}
