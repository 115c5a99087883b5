import path from 'node:path';
import type { CollectorConfig } from '@distlog/collector/config';
import { DEFAULT_CONFIG_FILE, loadConfigFile } from '@distlog/collector/config';

/**
 * Settings shared by the `distlog` verbs. Precedence: flags, then environment
 * variables, then the collector configuration file (`--config` / DISTLOG_CONFIG,
 * else the shipped default), whose own defaults are documented in it.
 */
export interface CommonSettings {
  home: string;
  configFile: string;
  clickhouseUrl: string | undefined;
  database: string | undefined;
  /** ClickHouse cluster (remote_servers) for sharded tables; else the config's clickhouse.cluster. */
  cluster: string | undefined;
  /** `--replicated`: with a cluster, replicated tables; else the config's clickhouse.replicated. */
  replicated: boolean;
  grpcPort: number | undefined;
  httpPort: number | undefined;
  /** The web UI and query API (`up`, `ui`). */
  uiPort: number;
  localClickHouseHttpPort: number;
  localClickHouseTcpPort: number;
  /**
   * Without a ClickHouse URL: `server` — a private clickhouse-server (the Debian package)
   * under DISTLOG_HOME; `embedded` — the embedded store (chDB, current ClickHouse, from npm).
   */
  store: 'server' | 'embedded';
}

/**
 * The private ClickHouse `up` and `schema` start when no URL is given: the embedded store,
 * which needs only Node.js (measured as a default must hold: docs/clickhouse.md).
 */
export const DEFAULT_STORE: CommonSettings['store'] = 'embedded';

export const COMMON_OPTIONS = {
  home: { type: 'string' },
  config: { type: 'string' },
  'clickhouse-url': { type: 'string' },
  database: { type: 'string' },
  cluster: { type: 'string' },
  replicated: { type: 'boolean' },
  'grpc-port': { type: 'string' },
  'http-port': { type: 'string' },
  'ui-port': { type: 'string' },
  store: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function commonSettings(
  flags: Record<string, string | boolean | undefined>,
  env = process.env,
): CommonSettings {
  return {
    home: path.resolve(str(flags.home) ?? env.DISTLOG_HOME ?? '.distlog'),
    configFile: path.resolve(str(flags.config) ?? env.DISTLOG_CONFIG ?? DEFAULT_CONFIG_FILE),
    clickhouseUrl: str(flags['clickhouse-url']) ?? env.CLICKHOUSE_URL,
    database: str(flags.database) ?? env.DISTLOG_DATABASE,
    cluster: str(flags.cluster),
    replicated: flags.replicated === true,
    grpcPort: port('--grpc-port / DISTLOG_GRPC_PORT', str(flags['grpc-port']) ?? env.DISTLOG_GRPC_PORT),
    httpPort: port('--http-port / DISTLOG_HTTP_PORT', str(flags['http-port']) ?? env.DISTLOG_HTTP_PORT),
    uiPort: port('--ui-port / DISTLOG_UI_PORT', str(flags['ui-port']) ?? env.DISTLOG_UI_PORT) ?? 4320,
    localClickHouseHttpPort: port('DISTLOG_CLICKHOUSE_HTTP_PORT', env.DISTLOG_CLICKHOUSE_HTTP_PORT) ?? 18123,
    localClickHouseTcpPort: port('DISTLOG_CLICKHOUSE_TCP_PORT', env.DISTLOG_CLICKHOUSE_TCP_PORT) ?? 19000,
    store: storeKind(str(flags.store) ?? env.DISTLOG_STORE),
  };
}

function storeKind(raw: string | undefined): CommonSettings['store'] {
  if (raw === undefined || raw === '') return DEFAULT_STORE;
  if (raw === 'server' || raw === 'embedded') return raw;
  throw new UsageError(`--store / DISTLOG_STORE: expected server or embedded, got ${JSON.stringify(raw)}`);
}

/** The configuration file with the settings' overrides applied (ClickHouse URL aside: see clickhouse-target). */
export function loadSettingsConfig(settings: CommonSettings, env = process.env): CollectorConfig {
  const config = loadConfigFile(settings.configFile, { ...env, DISTLOG_HOME: settings.home });
  return {
    ...config,
    clickhouse: {
      ...config.clickhouse,
      ...(settings.clickhouseUrl ? { url: settings.clickhouseUrl } : {}),
      ...(settings.database ? { database: settings.database } : {}),
      ...(settings.cluster ? { cluster: settings.cluster } : {}),
      ...(settings.replicated ? { replicated: true } : {}),
    },
    receivers: {
      ...config.receivers,
      grpc: {
        ...config.receivers.grpc,
        ...(settings.grpcPort !== undefined ? { port: settings.grpcPort } : {}),
      },
      http: {
        ...config.receivers.http,
        ...(settings.httpPort !== undefined ? { port: settings.httpPort } : {}),
      },
    },
  };
}

function str(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function port(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new UsageError(`${name}: expected a port number 0-65535, got ${JSON.stringify(raw)}`);
  }
  return n;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
