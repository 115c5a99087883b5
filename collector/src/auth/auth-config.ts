import { readFileSync } from 'node:fs';
import path from 'node:path';

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

/** A secret named by `<kind>Env` or `<kind>File` of an auth entry, or why it cannot be had (never quoting it). */
export function readSecret(
  entry: Record<string, unknown>,
  kind: 'key' | 'token',
  env: NodeJS.ProcessEnv,
): { secret: string } | { problem: string; key?: string } {
  const named = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const fromEnv = named(entry[`${kind}Env`]);
  const fromFile = named(entry[`${kind}File`]);
  if ((fromEnv === undefined) === (fromFile === undefined))
    return { problem: `give exactly one of ${kind}Env (an environment variable's name) or ${kind}File` };
  let secret: string;
  if (fromEnv !== undefined) {
    const value = env[fromEnv];
    if (value === undefined || value.trim() === '')
      return { key: `${kind}Env`, problem: `environment variable ${fromEnv} is not set` };
    secret = value.trim();
  } else {
    try {
      secret = readFileSync(path.resolve(fromFile!), 'utf8').trim();
    } catch (err) {
      return {
        key: `${kind}File`,
        problem: `cannot read ${fromFile}: ${(err as NodeJS.ErrnoException).code ?? err}`,
      };
    }
  }
  if (secret.length < MIN_SECRET_LENGTH)
    return { problem: `the ${kind} is shorter than ${MIN_SECRET_LENGTH} characters` };
  if (/\s/.test(secret)) return { problem: `the ${kind} contains white space` };
  return { secret };
}

export const TLS_FILES = [
  'certFile',
  'keyFile',
  'caFile',
  'clientCaFile',
  'clientCertFile',
  'clientKeyFile',
] as const;
export type TlsFileKey = (typeof TLS_FILES)[number];

/** The files a `tls` section names, read, and what could not be (key → problem). */
export function readTlsFiles(raw: Partial<Record<TlsFileKey, unknown>>): {
  files: Partial<Record<TlsFileKey, Buffer>>;
  problems: Array<[TlsFileKey, string]>;
} {
  const files: Partial<Record<TlsFileKey, Buffer>> = {};
  const problems: Array<[TlsFileKey, string]> = [];
  for (const key of TLS_FILES) {
    const file = raw[key];
    if (typeof file !== 'string' || file === '') continue;
    try {
      files[key] = readFileSync(path.resolve(file));
    } catch (err) {
      problems.push([key, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`]);
    }
  }
  return { files, problems };
}

type SecretEntry = { name: string } & Record<string, unknown>;

/** The `auth` section of a checked file, its secrets read (config/schema-refine.ts checked they can be). */
export function authFrom(
  raw:
    | {
        ingestKeys: Array<SecretEntry & { tenant?: string; services?: string[] }>;
        users: Array<SecretEntry & { role: Role; tenants?: string[] }>;
        sessionKeys?: SecretEntry[];
      }
    | undefined,
  env: NodeJS.ProcessEnv,
): AuthConfig {
  if (!raw) return NO_AUTH;
  const secretOf = (entry: SecretEntry, kind: 'key' | 'token') => {
    const read = readSecret(entry, kind, env);
    if ('problem' in read) throw new Error(`auth ${entry.name}: ${read.problem}`);
    return read.secret;
  };
  return {
    ingestKeys: raw.ingestKeys.map((k) => ({
      name: k.name,
      secret: secretOf(k, 'key'),
      ...(k.tenant ? { tenant: k.tenant } : {}),
      ...(k.services ? { services: k.services } : {}),
    })),
    users: raw.users.map((u) => ({
      name: u.name,
      secret: secretOf(u, 'token'),
      role: u.role,
      ...(u.tenants ? { tenants: u.tenants } : {}),
    })),
    ...(raw.sessionKeys && raw.sessionKeys.length > 0
      ? { sessionKeys: raw.sessionKeys.map((k) => secretOf(k, 'key')) }
      : {}),
  };
}

/** The `tls` section of a checked file, its files read. */
export function tlsFrom(raw: Partial<Record<TlsFileKey, string>> | undefined): TlsConfig | undefined {
  if (!raw?.certFile || !raw.keyFile) return undefined;
  const { files, problems } = readTlsFiles(raw);
  if (problems.length > 0) throw new Error(`tls.${problems[0][0]}: ${problems[0][1]}`);
  return {
    certFile: path.resolve(raw.certFile),
    keyFile: path.resolve(raw.keyFile),
    cert: files.certFile!,
    key: files.keyFile!,
    ...(files.caFile ? { ca: files.caFile } : {}),
    ...(files.clientCaFile ? { clientCa: files.clientCaFile } : {}),
    ...(files.clientCertFile && files.clientKeyFile
      ? { clientCert: files.clientCertFile, clientKey: files.clientKeyFile }
      : {}),
  };
}
