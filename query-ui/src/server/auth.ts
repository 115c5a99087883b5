import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Role, UserIdentity } from '@distlog/collector/auth';
import {
  AuthError,
  Authenticator,
  FailureThrottle,
  NO_AUTH,
  throttledMessage,
} from '@distlog/collector/auth';
import { SESSION_MS, Sessions } from './sessions';

/**
 * Who may use the query API and web UI (`auth.users` of the configuration). A request
 * carries `Authorization: Bearer <token>` (the CLI, scripts, Grafana links) or the
 * session cookie that `POST /api/login` sets for the browser (HttpOnly, SameSite=Strict,
 * so other sites can neither read nor send it; signed, so any query server accepts it:
 * ./sessions.ts). Readers search; the SQL console and level changes need an admin.
 * Without users configured everything is open.
 */
export const SESSION_COOKIE = 'distlog_session';
const OPEN_PATHS = new Set(['/api/login', '/api/logout', '/api/health']);

export interface Caller {
  user: UserIdentity;
  /** The caller's token, passed on to the collector for level control. */
  token?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    caller?: Caller;
  }
}

export function registerAuth(
  app: FastifyInstance,
  auth: Authenticator,
  secureCookie: boolean,
  throttle = new FailureThrottle(),
  sessions = new Sessions(auth, undefined),
): void {
  const open = !auth.usersRequired;
  sessions.start();
  app.addHook('onClose', async () => sessions.stop());

  /** An address with too many wrong tokens gets 429 until its window is over (FailureThrottle, in the collector package). */
  const throttled = (req: FastifyRequest, reply: FastifyReply): boolean => {
    if (open) return false;
    const wait = throttle.retryAfterSeconds(req.ip);
    if (wait === 0) return false;
    void reply
      .code(429)
      .header('Retry-After', String(wait))
      .send({ error: throttledMessage(req.ip, wait) });
    return true;
  };

  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?', 1)[0];
    if (!path.startsWith('/api/') || OPEN_PATHS.has(path)) return;
    if (throttled(req, reply)) return reply;
    try {
      req.caller = identify(req, auth, sessions, neededRole(req.method, path));
      const everyTenant = EVERY_TENANT[path];
      if (everyTenant && req.caller.user.tenants)
        throw new AuthError(
          403,
          `user ${JSON.stringify(req.caller.user.name)} may read only tenants ${req.caller.user.tenants.join(', ')}; ${everyTenant}`,
        );
    } catch (err) {
      if (!(err instanceof AuthError)) throw err;
      if (err.status === 401) {
        reply.header('WWW-Authenticate', 'Bearer realm="distlog"');
        // A token that was sent and is wrong (not a missing one or an expired session).
        if (req.headers.authorization) throttle.fail(req.ip);
      }
      return reply.code(err.status).send({ error: err.message });
    }
  });

  app.post(
    '/api/login',
    {
      schema: {
        body: {
          type: 'object',
          required: ['token'],
          properties: { token: { type: 'string', maxLength: 1000 } },
        },
      },
    },
    async (req, reply) => {
      if (throttled(req, reply)) return reply;
      const { token } = req.body as { token: string };
      let user: UserIdentity;
      try {
        user = auth.user(token);
      } catch (err) {
        if (!(err instanceof AuthError)) throw err;
        throttle.fail(req.ip);
        // A wrong guess costs time; the answer does not say what was wrong with it.
        await new Promise((r) => setTimeout(r, 500));
        return reply.code(401).send({ error: 'the token is not valid' });
      }
      reply.header('Set-Cookie', cookie(sessions.issue(user.name, token), SESSION_MS / 1000, secureCookie));
      return me(user, open);
    },
  );

  app.post('/api/logout', async (req, reply) => {
    const value = readCookie(req, SESSION_COOKIE);
    if (value) await sessions.revoke(value);
    reply.header('Set-Cookie', cookie('', 0, secureCookie));
    return { ok: true };
  });

  app.get('/api/me', async (req) => me(req.caller!.user, open));
}

/** Who is logged in, as `/api/me` and `/api/login` answer (the web UI shows what the user may use by it). */
function me(user: UserIdentity, open: boolean) {
  return {
    name: user.name,
    role: user.role,
    authRequired: !open,
    ...(user.tenants ? { tenants: user.tenants } : {}),
  };
}

/** Reading needs a reader; the SQL console and changing levels need an admin. */
/** Routes that show every tenant's data, closed to users limited to some tenants (and why). */
const EVERY_TENANT: Record<string, string> = {
  '/api/sql': 'the SQL console reads every tenant',
  '/api/status': "the status counts every tenant's records",
};

function neededRole(method: string, path: string): Role {
  if (path === '/api/sql') return 'admin';
  if (path === '/api/levels' && method !== 'GET') return 'admin';
  return 'reader';
}

function identify(req: FastifyRequest, auth: Authenticator, sessions: Sessions, needed: Role): Caller {
  if (!auth.usersRequired) return { user: auth.user(undefined) };
  const header = req.headers.authorization;
  if (header) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw new AuthError(401, 'the Authorization header must be "Bearer <token>"');
    return { user: auth.user(m[1], needed), token: m[1] };
  }
  const value = readCookie(req, SESSION_COOKIE);
  const session = value ? sessions.verify(value) : undefined;
  if (!session) throw new AuthError(401, 'log in: this Distlog requires a user token');
  // Checked again, so a token removed from the configuration ends its sessions at reload.
  return { user: auth.user(session.token, needed), token: session.token };
}

function cookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return [
    `${SESSION_COOKIE}=${value}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${Math.floor(maxAgeSeconds)}`,
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}

function readCookie(req: FastifyRequest, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/** For apps built without an authenticator: open. */
export const OPEN_AUTH = new Authenticator(NO_AUTH);
