import type http from 'node:http';
import type { LevelStore } from './level-store';
import { LevelStoreUnavailableError } from './level-store';
import type { Sender } from './senders';
import type { NewLevelRule } from './level-rules';
import { LevelRuleError } from './level-rules';
import { AuthError, Authenticator, authorizeService } from '../auth/authenticator';

const OPEN = new Authenticator({ ingestKeys: [], users: [] });

/**
 * The level-control endpoints on the collector's HTTP port:
 *   GET    /v1/levels                      rules; subscribed processes with their loggers, and
 *                                          processes that send records but are not subscribed
 *   POST   /v1/levels                      set a rule { service, logger, level, for | expiresAt, setBy }
 *   DELETE /v1/levels?id=|service=|logger= clear rules
 *   GET    /v1/levels/stream?service=&instance=   server-sent events: the rules, on every change
 *   POST   /v1/levels/report               a process's effective levels { service, instance, loggers }
 *
 * With auth configured: reading the rules needs a user token, changing them an admin's
 * (whose name then is the rule's setBy); the stream and the reports need an ingest key
 * that may send for the service.
 */
export function levelRoutes(
  store: LevelStore,
  auth: () => Authenticator = () => OPEN,
  senders: () => Sender[] = () => [],
): (req: http.IncomingMessage, res: http.ServerResponse) => boolean {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (!url.pathname.startsWith('/v1/levels')) return false;
    void handle(store, auth(), senders, url, req, res).catch((err) => {
      if (err instanceof AuthError) {
        if (err.status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="distlog"');
        return send(res, err.status, { error: err.message });
      }
      if (err instanceof LevelStoreUnavailableError) {
        res.setHeader('Retry-After', '5');
        return send(res, 503, { error: err.message });
      }
      send(res, 500, { error: String(err) });
    });
    return true;
  };
}

async function handle(
  store: LevelStore,
  auth: Authenticator,
  senders: () => Sender[],
  url: URL,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  const authorization = req.headers.authorization;
  if (url.pathname === '/v1/levels' && req.method === 'GET') {
    auth.userFromHeader(authorization);
    return send(res, 200, { rules: store.list(), instances: await store.listInstances(senders()) });
  }
  if (url.pathname === '/v1/levels' && req.method === 'POST') {
    const user = auth.userFromHeader(authorization, 'admin');
    const body = await readJson(req, res);
    if (body === undefined) return;
    try {
      const rule = { ...(body as NewLevelRule), ...(auth.usersRequired ? { setBy: user.name } : {}) };
      return send(res, 201, { rule: await store.set(rule) });
    } catch (err) {
      if (err instanceof LevelRuleError) return send(res, 400, { error: err.message });
      throw err;
    }
  }
  if (url.pathname === '/v1/levels' && req.method === 'DELETE') {
    const user = auth.userFromHeader(authorization, 'admin');
    const filter = {
      id: url.searchParams.get('id') ?? undefined,
      service: url.searchParams.get('service') ?? undefined,
      logger: url.searchParams.get('logger') ?? undefined,
    };
    if (!filter.id && !filter.service && !filter.logger) {
      return send(res, 400, { error: 'name the rules to clear: id, service and/or logger' });
    }
    const by = auth.usersRequired ? user.name : (url.searchParams.get('by') ?? 'unknown');
    return send(res, 200, { removed: await store.clear(filter, by) });
  }
  if (url.pathname === '/v1/levels/stream' && req.method === 'GET') {
    const service = url.searchParams.get('service');
    const instance = url.searchParams.get('instance') ?? '';
    if (!service) return send(res, 400, { error: 'service: required' });
    authorizeService(auth.ingest(authorization), service);
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive',
    });
    const unsubscribe = store.subscribe(
      service,
      instance,
      (rules) => res.write(`event: rules\ndata: ${JSON.stringify({ rules })}\n\n`),
      () => res.end(),
    );
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    req.on('close', () => {
      clearInterval(keepAlive);
      unsubscribe();
    });
    return;
  }
  if (url.pathname === '/v1/levels/report' && req.method === 'POST') {
    const sender = auth.ingest(authorization);
    const body = (await readJson(req, res)) as
      { service?: unknown; instance?: unknown; loggers?: unknown } | undefined;
    if (body === undefined) return;
    if (
      typeof body.service !== 'string' ||
      typeof body.instance !== 'string' ||
      typeof body.loggers !== 'object' ||
      !body.loggers
    ) {
      return send(res, 400, { error: 'expected { service, instance, loggers }' });
    }
    authorizeService(sender, body.service);
    store.report(body.service, body.instance, body.loggers as never);
    return send(res, 204, undefined);
  }
  send(res, 404, { error: `no route for ${req.method} ${url.pathname}` });
}

async function readJson(req: http.IncomingMessage, res: http.ServerResponse): Promise<unknown> {
  let text = '';
  for await (const chunk of req) {
    text += chunk;
    if (text.length > 1024 * 1024) {
      send(res, 413, { error: 'body larger than 1 MiB' });
      return undefined;
    }
  }
  try {
    const value = JSON.parse(text || '{}');
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value;
  } catch (err) {
    send(res, 400, { error: `body is not a JSON object (${(err as Error).message})` });
    return undefined;
  }
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  res.statusCode = status;
  if (body === undefined) return void res.end();
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify(body));
}
