import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Checker, Json } from '../config/validate';

/**
 * Who may send and who may read (`auth:` in the collector configuration, read by the
 * collector and by the query server). Secrets come from an environment variable
 * (`keyEnv` / `tokenEnv`) or a file (`keyFile` / `tokenFile`) — never from the command
 * line or the configuration text — and are never logged or put in metrics: only the
 * names given here are.
 *
 *   auth:
 *     ingestKeys:                 # OTLP senders and the SDKs' level-control stream
 *       - name: shop-gateway
 *         keyEnv: DISTLOG_KEY_GATEWAY
 *         tenant: shop            # stamped on its records as resource attribute distlog.tenant
 *         services: [gateway]     # records claiming another service.name are refused
 *     users:                      # query API, web UI, SQL console, level changes
 *       - { name: alice, tokenFile: /run/secrets/alice, role: admin }
 *       - { name: support, tokenEnv: DISTLOG_TOKEN_SUPPORT, role: reader, tenants: [shop] }
 *     sessionKeys:                # signs the web UI's session cookies (query server)
 *       - { name: current, keyEnv: DISTLOG_SESSION_KEY }
 *       - { name: previous, keyFile: /run/secrets/old-session-key }   # still accepted
 *
 * With no ingest keys, sending is open; with no users, reading is open (a local
 * `distlog up` on loopback); the processes say so when they start.
 */
export type Role = 'reader' | 'admin';

export interface IngestKeyConfig {
  name: string;
  secret: string;
  tenant?: string;
  /** service.name values this key may send; undefined: any. */
  services?: string[];
}

export interface UserConfig {
  name: string;
  secret: string;
  role: Role;
  /** Tenants (distlog.tenant) whose records this user may read; undefined: all. */
  tenants?: string[];
}

export interface AuthConfig {
  ingestKeys: IngestKeyConfig[];
  users: UserConfig[];
  /**
   * Keys of the query servers' session cookies: the first signs, every one is accepted,
   * so a key is rotated by putting a new one first. Without any, the key is derived from
   * the users' tokens (query-ui server/sessions.ts): every query server with the same
   * configuration accepts the others' sessions.
   */
  sessionKeys?: string[];
}

export const NO_AUTH: AuthConfig = { ingestKeys: [], users: [] };

/** Shorter secrets are refused: they can be guessed. */
export const MIN_SECRET_LENGTH = 16;

export interface TlsConfig {
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
  /**
   * `caFile`: authorities the query server trusts when it calls an https collector
   * (besides the system's), e.g. the private CA that signed these certificates.
   */
  ca?: Buffer;
  /**
   * `clientCaFile`: mutual TLS — the collector's gRPC and HTTP ports accept only clients
   * that present a certificate signed by one of these authorities.
   */
  clientCa?: Buffer;
  /** `clientCertFile` + `clientKeyFile`: what the query server presents to such a collector. */
  clientCert?: Buffer;
  clientKey?: Buffer;
}

export function parseAuth(c: Checker, raw: Json, env: NodeJS.ProcessEnv): AuthConfig {
  if (raw === undefined) return NO_AUTH;
  const top = c.object('auth', raw, ['ingestKeys', 'users', 'sessionKeys']);
  if (!top) return NO_AUTH;
  const secrets = new Map<string, string>();
  const names = new Set<string>();
  const entry = (at: string, value: Json, secretKey: 'key' | 'token', extra: string[]) => {
    const e = c.object(at, value, ['name', `${secretKey}Env`, `${secretKey}File`, ...extra]);
    if (!e) return undefined;
    const name = c.string(`${at}.name`, e.name);
    if (name && names.has(name)) c.problem(`${at}.name`, `${JSON.stringify(name)} is used twice`);
    if (name) names.add(name);
    const secret = readSecret(c, at, e, secretKey, env);
    if (secret !== undefined) {
      const other = secrets.get(secret);
      if (other) c.problem(at, `has the same secret as ${other}`);
      secrets.set(secret, name ?? at);
    }
    return name && secret !== undefined ? { e, name, secret } : undefined;
  };

  const ingestKeys: IngestKeyConfig[] = [];
  c.list('auth.ingestKeys', top.ingestKeys).forEach((value, i) => {
    const at = `auth.ingestKeys[${i}]`;
    const got = entry(at, value, 'key', ['tenant', 'services']);
    if (!got) return;
    const tenant = c.string(`${at}.tenant`, got.e.tenant);
    const services = nonEmptyNames(c, `${at}.services`, got.e.services, 'service names');
    ingestKeys.push({
      name: got.name,
      secret: got.secret,
      ...(tenant ? { tenant } : {}),
      ...(services ? { services } : {}),
    });
  });
  const users: UserConfig[] = [];
  c.list('auth.users', top.users).forEach((value, i) => {
    const at = `auth.users[${i}]`;
    const got = entry(at, value, 'token', ['role', 'tenants']);
    if (!got) return;
    const role = got.e.role;
    if (role !== 'reader' && role !== 'admin') return c.fail(`${at}.role`, 'reader or admin', role);
    const tenants = nonEmptyNames(c, `${at}.tenants`, got.e.tenants, 'tenant names');
    users.push({ name: got.name, secret: got.secret, role, ...(tenants ? { tenants } : {}) });
  });
  const sessionKeys: string[] = [];
  c.list('auth.sessionKeys', top.sessionKeys).forEach((value, i) => {
    const got = entry(`auth.sessionKeys[${i}]`, value, 'key', []);
    if (got) sessionKeys.push(got.secret);
  });
  return { ingestKeys, users, ...(sessionKeys.length > 0 ? { sessionKeys } : {}) };
}

function nonEmptyNames(c: Checker, at: string, value: Json, what: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0 || !value.every((s) => typeof s === 'string' && s !== '')) {
    c.fail(at, `a non-empty list of ${what}`, value);
    return undefined;
  }
  return value as string[];
}

function readSecret(
  c: Checker,
  at: string,
  e: Record<string, Json>,
  kind: 'key' | 'token',
  env: NodeJS.ProcessEnv,
): string | undefined {
  const fromEnv = c.string(`${at}.${kind}Env`, e[`${kind}Env`]);
  const fromFile = c.string(`${at}.${kind}File`, e[`${kind}File`]);
  if ((fromEnv === undefined) === (fromFile === undefined)) {
    c.problem(at, `give exactly one of ${kind}Env (an environment variable's name) or ${kind}File`);
    return undefined;
  }
  let secret: string;
  if (fromEnv !== undefined) {
    const value = env[fromEnv];
    if (value === undefined || value.trim() === '') {
      c.problem(`${at}.${kind}Env`, `environment variable ${fromEnv} is not set`);
      return undefined;
    }
    secret = value.trim();
  } else {
    try {
      secret = readFileSync(path.resolve(fromFile!), 'utf8').trim();
    } catch (err) {
      c.problem(
        `${at}.${kind}File`,
        `cannot read ${fromFile}: ${(err as NodeJS.ErrnoException).code ?? err}`,
      );
      return undefined;
    }
  }
  if (secret.length < MIN_SECRET_LENGTH) {
    // The secret itself is never quoted in a message.
    c.problem(at, `the ${kind} is shorter than ${MIN_SECRET_LENGTH} characters`);
    return undefined;
  }
  if (/\s/.test(secret)) {
    c.problem(at, `the ${kind} contains white space`);
    return undefined;
  }
  return secret;
}

export function parseTls(c: Checker, raw: Json): TlsConfig | undefined {
  if (raw === undefined) return undefined;
  const t = c.object('tls', raw, [
    'certFile',
    'keyFile',
    'caFile',
    'clientCaFile',
    'clientCertFile',
    'clientKeyFile',
  ]);
  if (!t) return undefined;
  const certFile = c.string('tls.certFile', t.certFile);
  const keyFile = c.string('tls.keyFile', t.keyFile);
  if (!certFile || !keyFile) {
    c.problem('tls', 'needs certFile and keyFile (PEM)');
    return undefined;
  }
  const read = (key: string, file: string) => {
    try {
      return readFileSync(path.resolve(file));
    } catch (err) {
      c.problem(key, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
      return undefined;
    }
  };
  const cert = read('tls.certFile', certFile);
  const key = read('tls.keyFile', keyFile);
  const optional = (name: 'caFile' | 'clientCaFile' | 'clientCertFile' | 'clientKeyFile') => {
    const file = c.string(`tls.${name}`, t[name]);
    return file ? read(`tls.${name}`, file) : undefined;
  };
  const ca = optional('caFile');
  const clientCa = optional('clientCaFile');
  const clientCert = optional('clientCertFile');
  const clientKey = optional('clientKeyFile');
  if ((t.clientCertFile === undefined) !== (t.clientKeyFile === undefined))
    c.problem('tls', 'clientCertFile and clientKeyFile go together (the query server’s client certificate)');
  if (!cert || !key) return undefined;
  return {
    certFile: path.resolve(certFile),
    keyFile: path.resolve(keyFile),
    cert,
    key,
    ...(ca ? { ca } : {}),
    ...(clientCa ? { clientCa } : {}),
    ...(clientCert && clientKey ? { clientCert, clientKey } : {}),
  };
}
