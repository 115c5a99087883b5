import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import type { Authenticator, TlsConfig } from '@distlog/collector/auth';
import type { ClickHouse } from '@distlog/collector/storage';

/** A collector seen within this time counts as running. */
export const ALIVE_SECONDS = 30;

/**
 * The running collectors, by id, with the address they serve on: those that wrote to the
 * `collectors` table in the last ALIVE_SECONDS and did not say they stopped
 * (collector/src/control/collector-registry.ts). One per address: a collector killed and
 * started again on the same address within ALIVE_SECONDS is listed twice, the one gone
 * never having said so; the newest is the one there.
 */
export async function runningCollectors(ch: ClickHouse): Promise<Map<string, string>> {
  const rows = await ch.query<{ id: string; url: string; alive: number | string; version: string }>(
    `SELECT Collector AS id, argMax(TailUrl, Version) AS url, argMax(Alive, Version) AS alive, ` +
      `toString(max(Version)) AS version ` +
      `FROM ${ch.database}.collectors WHERE SeenAt >= now() - ${ALIVE_SECONDS} GROUP BY Collector`,
  );
  const newestByUrl = new Map<string, { id: string; version: bigint }>();
  for (const r of rows) {
    if (Number(r.alive) !== 1) continue;
    const seen = newestByUrl.get(r.url);
    if (!seen || BigInt(r.version) > seen.version)
      newestByUrl.set(r.url, { id: r.id, version: BigInt(r.version) });
  }
  return new Map([...newestByUrl].map(([url, { id }]) => [id, url]));
}

/** The token of a configured user (any: readers' own limits are applied by the query server; none without users). */
export function anyUserToken(auth: Authenticator): string | undefined {
  return auth.userTokens().values().next().value;
}

/**
 * A request to a collector as the query server makes it (live tail, status, level control):
 * with the token given (a reader's or the caller's; none without users), and over https
 * trusting the configured CA besides the system's and showing the client certificate a
 * collector that wants one (tls.clientCaFile) asks for. The caller ends it.
 */
export function requestToCollector(
  target: URL,
  options: {
    method?: string;
    token?: string;
    tls?: TlsConfig;
    headers?: Record<string, string>;
    timeout?: number;
  },
): http.ClientRequest {
  const { tls: tlsConfig, token } = options;
  const client = target.protocol === 'https:' ? https : http;
  return client.request(target, {
    method: options.method ?? 'GET',
    headers: { ...options.headers, ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    ...(options.timeout ? { timeout: options.timeout } : {}),
    ...(tlsConfig && target.protocol === 'https:'
      ? {
          ca: [...tls.rootCertificates, tlsConfig.ca ?? tlsConfig.cert],
          ...(tlsConfig.clientCert && tlsConfig.clientKey
            ? { cert: tlsConfig.clientCert, key: tlsConfig.clientKey }
            : {}),
        }
      : {}),
  });
}

/** A GET to a collector (`/v1/tail`, `/v1/status`): see requestToCollector. */
export function getFromCollector(
  target: URL,
  token: string | undefined,
  tlsConfig: TlsConfig | undefined,
  headers: Record<string, string> = {},
): http.ClientRequest {
  const req = requestToCollector(target, { token, tls: tlsConfig, headers });
  req.end();
  return req;
}
