// What `distlog up` and `distlog ui` share: the UI's address from the environment, the access lines said at start, SIGHUP reloads.
import type { CollectorConfig } from '@distlog/collector/config';
import type { RunningCollector } from '@distlog/collector';
import type { CommonSettings } from './settings';
import { loadSettingsConfig } from './settings';
import { say } from './command';
import { normalizeBasePath } from '../server/base-path';

/** DISTLOG_UI_TRUST_PROXY: comma-separated proxy addresses or CIDR ranges (see AppOptions.trustProxy). */
export function uiTrustProxy(): string[] | undefined {
  const list = (process.env.DISTLOG_UI_TRUST_PROXY ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return list.length ? list : undefined;
}

/**
 * DISTLOG_UI_BASE_PATH: the path a reverse proxy serves the UI under (`/distlog`), or
 * undefined; a value that is not a plain path stops the start with what is wrong.
 */
export function uiBasePath(): string | undefined {
  const value = process.env.DISTLOG_UI_BASE_PATH;
  if (value === undefined || value.trim() === '') return undefined;
  const base = normalizeBasePath(value);
  if (base === undefined)
    throw new Error(
      `DISTLOG_UI_BASE_PATH=${JSON.stringify(value)} is not a plain path such as /distlog (letters, digits, ._~- between slashes)`,
    );
  return base || undefined;
}

export function uiHost(): string {
  return process.env.DISTLOG_UI_HOST ?? '127.0.0.1';
}

export function scheme(config: CollectorConfig): 'http' | 'https' {
  return config.tls ? 'https' : 'http';
}

/** What is open and what needs credentials, said at every start. */
export function accessLines(config: CollectorConfig, uiHostName: string): string[] {
  const { ingestKeys, users } = config.auth;
  const hosts = [config.receivers.grpc.host, config.receivers.http.host];
  return [
    `  TLS          ${config.tls ? `on (${config.tls.certFile})` : 'off'}`,
    `  Sending      ${ingestKeys.length ? `${ingestKeys.length} ingest keys (auth.ingestKeys)` : `OPEN: anyone who can reach ${[...new Set(hosts)].join(', ')} may send`}`,
    `  Reading      ${users.length ? `${users.length} users (auth.users)` : `OPEN: anyone who can reach ${uiHostName} may search, run SQL and change levels`}`,
  ];
}

/** SIGHUP: re-read the configuration file; a broken file is reported and the running configuration kept. */
export function reloader(
  settings: CommonSettings,
  collector: RunningCollector,
  clickhouseUrl: string,
): () => void {
  let reloading = Promise.resolve();
  return () => {
    reloading = reloading.then(async () => {
      try {
        const next = loadSettingsConfig(settings);
        await collector.reload({ ...next, clickhouse: { ...next.clickhouse, url: clickhouseUrl } });
        say(`reloaded ${settings.configFile}`);
      } catch (err) {
        say(`reload failed, keeping the running configuration:\n${(err as Error).message}`);
      }
    });
  };
}
