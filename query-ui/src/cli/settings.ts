import path from 'node:path';

/**
 * Settings shared by the `distlog` verbs: flags win over environment variables, which
 * win over the defaults written here (and in the README).
 */
export interface CommonSettings {
  home: string;
  clickhouseUrl: string | undefined;
  clickhouseUser: string | undefined;
  clickhousePassword: string | undefined;
  database: string;
  grpcPort: number;
  httpPort: number;
  localClickHouseHttpPort: number;
  localClickHouseTcpPort: number;
}

export const COMMON_OPTIONS = {
  home: { type: 'string' },
  'clickhouse-url': { type: 'string' },
  database: { type: 'string' },
  'grpc-port': { type: 'string' },
  'http-port': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function commonSettings(
  flags: Record<string, string | boolean | undefined>,
  env = process.env,
): CommonSettings {
  return {
    home: path.resolve(str(flags.home) ?? env.DISTLOG_HOME ?? '.distlog'),
    clickhouseUrl: str(flags['clickhouse-url']) ?? env.CLICKHOUSE_URL,
    clickhouseUser: env.CLICKHOUSE_USER,
    clickhousePassword: env.CLICKHOUSE_PASSWORD,
    database: str(flags.database) ?? env.DISTLOG_DATABASE ?? 'distlog',
    grpcPort: port('--grpc-port / DISTLOG_GRPC_PORT', str(flags['grpc-port']) ?? env.DISTLOG_GRPC_PORT, 4317),
    httpPort: port('--http-port / DISTLOG_HTTP_PORT', str(flags['http-port']) ?? env.DISTLOG_HTTP_PORT, 4318),
    localClickHouseHttpPort: port('DISTLOG_CLICKHOUSE_HTTP_PORT', env.DISTLOG_CLICKHOUSE_HTTP_PORT, 18123),
    localClickHouseTcpPort: port('DISTLOG_CLICKHOUSE_TCP_PORT', env.DISTLOG_CLICKHOUSE_TCP_PORT, 19000),
  };
}

function str(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function port(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new UsageError(`${name}: expected a port number 0-65535, got ${JSON.stringify(raw)}`);
  return n;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
