import { createHash, randomBytes } from 'node:crypto';
import type { LogRow } from '../model/log-row';
import type { AuthConfig, IngestKeyConfig, Role, UserConfig } from './auth-config';
import { CollectorError } from '../errors';

/** A refusal: 401 (no or unknown credentials) or 403 (known, but not allowed to do this). */
export class AuthError extends CollectorError {
  constructor(
    readonly status: 401 | 403,
    message: string,
  ) {
    super(status === 401 ? 'unauthenticated' : 'forbidden', message);
    this.name = 'AuthError';
  }
}

export interface IngestIdentity {
  /** The key's configured name ('anonymous' when sending is open). */
  name: string;
  tenant?: string;
  services?: ReadonlySet<string>;
}

export interface UserIdentity {
  name: string;
  role: Role;
  /** Tenants whose records the user may read; undefined: all. */
  tenants?: readonly string[];
}

const ANONYMOUS_SENDER: IngestIdentity = { name: 'anonymous' };
/** Reading is open: everyone may do everything (a local `distlog up`). */
const ANONYMOUS_ADMIN: UserIdentity = { name: 'anonymous', role: 'admin' };
export const TENANT_ATTRIBUTE = 'distlog.tenant';

/**
 * Checks bearer credentials. Secrets are kept only as SHA-256 digests and looked up
 * by the digest of what was presented, so no comparison runs over a secret's bytes.
 */
export class Authenticator {
  private readonly keys = new Map<string, IngestIdentity>();
  private readonly users = new Map<string, UserIdentity>();
  private readonly tokens = new Map<string, string>();
  /** auth.sessionKeys, newest first (see AuthConfig). */
  readonly sessionKeys: readonly string[];

  constructor(config: AuthConfig) {
    for (const k of config.ingestKeys) this.keys.set(digest(k.secret), ingestIdentity(k));
    for (const u of config.users) {
      this.users.set(digest(u.secret), userIdentity(u));
      this.tokens.set(u.name, u.secret);
    }
    this.sessionKeys = config.sessionKeys ?? [];
  }

  /**
   * The configured users' names and tokens (the query server signs sessions with keys
   * made from them, and passes a session's token on to the collector).
   */
  userTokens(): ReadonlyMap<string, string> {
    return this.tokens;
  }

  /** Senders must present an ingest key. */
  get ingestRequired(): boolean {
    return this.keys.size > 0;
  }

  /** Readers must present a user token. */
  get usersRequired(): boolean {
    return this.users.size > 0;
  }

  /** The sender of an `Authorization` header (HTTP header or gRPC metadata). */
  ingest(authorization: string | undefined): IngestIdentity {
    if (!this.ingestRequired) return ANONYMOUS_SENDER;
    const token = bearer(authorization, 'an ingest key');
    const identity = this.keys.get(digest(token));
    if (!identity) throw new AuthError(401, 'the ingest key is not valid');
    return identity;
  }

  /** The user of a bearer token; `needed` refuses a reader where an admin is needed. */
  user(token: string | undefined, needed: Role = 'reader'): UserIdentity {
    if (!this.usersRequired) return ANONYMOUS_ADMIN;
    if (token === undefined || token === '')
      throw new AuthError(401, 'log in: this Distlog requires a user token');
    const identity = this.users.get(digest(token));
    if (!identity) throw new AuthError(401, 'the user token is not valid');
    if (needed === 'admin' && identity.role !== 'admin')
      throw new AuthError(
        403,
        `user ${JSON.stringify(identity.name)} is a reader; this needs the admin role`,
      );
    return identity;
  }

  /** `user()` from an `Authorization: Bearer …` header. */
  userFromHeader(authorization: string | undefined, needed: Role = 'reader'): UserIdentity {
    if (!this.usersRequired) return ANONYMOUS_ADMIN;
    return this.user(bearer(authorization, 'a user token'), needed);
  }
}

/**
 * Applies an ingest key's limits to decoded rows: a record claiming a service the key
 * may not send refuses the whole request (nothing is stored, the sender learns why);
 * the key's tenant replaces any tenant the sender claimed.
 */
export function authorizeRows(identity: IngestIdentity, rows: readonly LogRow[]): void {
  if (identity.services) {
    for (const row of rows) {
      const service = row.resource.serviceName;
      if (!identity.services.has(service))
        throw new AuthError(
          403,
          `ingest key ${JSON.stringify(identity.name)} may send service.name ${[...identity.services]
            .map((s) => JSON.stringify(s))
            .join(', ')}; the request has records of ${JSON.stringify(service)}`,
        );
    }
  }
  if (identity.tenant === undefined) return;
  const seen = new Set<object>();
  for (const row of rows) {
    const attributes = row.resource.attributes;
    if (seen.has(attributes)) continue;
    seen.add(attributes);
    const at = attributes.keys.indexOf(TENANT_ATTRIBUTE);
    if (at >= 0) attributes.values[at] = identity.tenant;
    else {
      attributes.keys.push(TENANT_ATTRIBUTE);
      attributes.values.push(identity.tenant);
    }
  }
}

/** The level-control stream of `service` needs a key that may send for it. */
export function authorizeService(identity: IngestIdentity, service: string): void {
  if (identity.services && !identity.services.has(service))
    throw new AuthError(
      403,
      `ingest key ${JSON.stringify(identity.name)} may not subscribe to the levels of ${JSON.stringify(service)}`,
    );
}

export function bearer(authorization: string | undefined, what: string): string {
  if (!authorization) throw new AuthError(401, `send ${what} as "Authorization: Bearer <key>"`);
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!m) throw new AuthError(401, `the Authorization header must be "Bearer <key>"`);
  return m[1];
}

/** A new random secret, for `distlog auth new-key`-style generation and tests. */
export function newSecret(): string {
  return randomBytes(24).toString('base64url');
}

function digest(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

function ingestIdentity(k: IngestKeyConfig): IngestIdentity {
  return {
    name: k.name,
    ...(k.tenant ? { tenant: k.tenant } : {}),
    ...(k.services ? { services: new Set(k.services) } : {}),
  };
}

function userIdentity(u: UserConfig): UserIdentity {
  return { name: u.name, role: u.role, ...(u.tenants ? { tenants: u.tenants } : {}) };
}
