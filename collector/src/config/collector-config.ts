import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { TierConfig } from './tiers';
import type { RuleConfig, ActionConfig } from './rules-config';
import { compileAction, compileRule } from './rules-config';
import type { ReceiverLimits } from '../receivers/otlp/limits';
import type { CorsConfig } from '../receivers/otlp/cors';
import type { AuthConfig, TlsConfig } from '../auth/auth-config';
import { authFrom, tlsFrom } from '../auth/auth-config';
import type { BatchOptions } from '../sinks/clickhouse/table-writer';
import { DEFAULTS, DEFAULT_METRICS, DEFAULT_ROUTING } from './defaults';
import type { MetricConfig, MetricOptions } from './metrics-config';
import { metricFrom } from './metrics-config';
import type { ConfigFile } from './schema';
import { configSchema } from './schema';
import { ConfigErrors, join, problemLines } from './schema-kit';

/**
 * The collector's configuration: a YAML file (`--config FILE` / DISTLOG_CONFIG), with
 * `${VAR}` and `${VAR:-default}` replaced from the environment in string values. Every
 * default lives in ./defaults.ts; the shipped `collector/config/default.yaml` writes the
 * same values out.
 */
export interface DestinationConfig {
  name: string;
  /** gRPC `http://host:4317`, or HTTP base URL (`/v1/logs` is appended unless present). */
  endpoint: string;
  protocol: 'grpc' | 'http/protobuf';
  headers: Record<string, string>;
  /** Records held for this destination while it is slow or down; past it the oldest are dropped (counted). */
  maxQueueRecords: number;
  /** Requests of at most this many bytes (a batch of large records goes in several); lowered when the destination refuses one as too large. */
  maxRequestBytes: number;
}

export interface CollectorConfig {
  /** Where the config came from (a file path or "defaults"), for messages. */
  source: string;
  receivers: {
    grpc: { host: string; port: number };
    http: { host: string; port: number; cors?: CorsConfig };
    limits: ReceiverLimits;
  };
  clickhouse: {
    url: string;
    database: string;
    username?: string;
    password?: string;
    requestTimeoutMs: number;
    /** A cluster of the server's remote_servers: sharded tables (see storage/schema.ts). */
    cluster?: string;
    /** With a cluster: Replicated*MergeTree tables on its shards (needs {shard}/{replica} macros). */
    replicated?: boolean;
  };
  tiers: TierConfig[];
  destinations: DestinationConfig[];
  rules: RuleConfig[];
  defaultAction: ActionConfig;
  batch: BatchOptions;
  spool: { dir: string; maxBytes: number };
  retention: { intervalMs: number };
  /** Where run-time level rules are kept (default $DISTLOG_HOME/levels.json). */
  levels: { file: string };
  /** Ingest keys and user tokens (see auth/auth-config.ts); empty lists: open. */
  auth: AuthConfig;
  /** Certificate and key for the gRPC, HTTP and query-server ports; absent: plain text. */
  tls?: TlsConfig;
  /** Metrics rolled up from the records as they arrive (see ./metrics-config.ts). */
  metrics: MetricConfig[];
  metricOptions: MetricOptions;
}

export const DEFAULT_CONFIG_FILE = path.resolve(__dirname, '../../config/default.yaml');

/** Loads and validates a config file; every problem is reported at once (ConfigErrors). */
export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): CollectorConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigErrors(file, [`cannot read the file: ${(err as Error).message}`]);
  }
  return parseConfig(text, file, env);
}

/**
 * Checks a configuration's text against the schema (config/schema.ts) and builds what the
 * collector runs from it. A file silent on all of routing (tiers, rules, default) gets the
 * default routing, one silent on metrics the default metrics: both written as a file
 * would write them, so they go through the same checks.
 */
export function parseConfig(
  text: string,
  source: string,
  env: NodeJS.ProcessEnv = process.env,
): CollectorConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ConfigErrors(source, [`not valid YAML: ${(err as Error).message}`]);
  }
  const problems: string[] = [];
  const file = substituteEnv(raw ?? {}, env, problems, '');
  const withDefaults =
    typeof file === 'object' && file !== null && !Array.isArray(file)
      ? withDefaultSections(file as Record<string, unknown>)
      : file;
  const checked = configSchema(env).safeParse(withDefaults);
  if (!checked.success) problems.push(...problemLines(checked.error));
  if (problems.length > 0 || !checked.success) throw new ConfigErrors(source, problems);
  return build(checked.data, withDefaults as Record<string, unknown>, source, env);
}

function withDefaultSections(file: Record<string, unknown>): Record<string, unknown> {
  const silentOnRouting = file.tiers === undefined && file.rules === undefined && file.default === undefined;
  return {
    ...file,
    ...(silentOnRouting ? DEFAULT_ROUTING : {}),
    ...(file.metrics === undefined ? { metrics: DEFAULT_METRICS } : {}),
  };
}

function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, problems: string[], at: string): unknown {
  if (typeof value === 'string') {
    return value.replace(
      /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
      (_m, name: string, fallback?: string) => {
        const v = env[name];
        if (v !== undefined && v !== '') return v;
        if (fallback !== undefined) return fallback;
        problems.push(
          `${at || '(top level)'}: environment variable ${name} is not set (write \${${name}:-default} for a fallback)`,
        );
        return '';
      },
    );
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, problems, join(at, i)));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, substituteEnv(v, env, problems, join(at, k))]),
    );
  }
  return value;
}

/** What the collector runs, from a checked file: environment fallbacks, paths under DISTLOG_HOME, compiled rules. */
function build(
  file: ConfigFile,
  written: Record<string, unknown>,
  source: string,
  env: NodeJS.ProcessEnv,
): CollectorConfig {
  const home = path.resolve(env.DISTLOG_HOME ?? '.distlog');
  const { receivers, clickhouse: ch, batch } = file;
  const tiers: TierConfig[] = (file.tiers ?? []).map((t) => ({
    name: t.name,
    table: t.table ?? t.name,
    retentionDays: t.retentionDays,
  }));
  const replicated =
    ch.replicated === undefined || ch.replicated === ''
      ? env.CLICKHOUSE_REPLICATED === 'true' || env.CLICKHOUSE_REPLICATED === '1'
      : ch.replicated === true || ch.replicated === 'true';
  // Empty (e.g. `${CLICKHOUSE_CLUSTER:-}` unset) means a single server.
  const cluster = ch.cluster === undefined ? env.CLICKHOUSE_CLUSTER || undefined : ch.cluster || undefined;
  const writtenMetrics = Array.isArray(written.metrics) ? written.metrics : [];
  return {
    source,
    receivers,
    clickhouse: {
      url: ch.url ?? env.CLICKHOUSE_URL ?? DEFAULTS.clickhouse.url,
      database: ch.database,
      username: ch.username ?? env.CLICKHOUSE_USER,
      password: ch.password ?? env.CLICKHOUSE_PASSWORD,
      requestTimeoutMs: ch.requestTimeout,
      cluster,
      replicated,
    },
    tiers,
    destinations: file.destinations,
    rules: (file.rules ?? []).map(compileRule),
    defaultAction: file.default
      ? compileAction(file.default)
      : tiers.length > 0
        ? { store: tiers[0].name, drop: false }
        : { drop: true },
    batch: {
      retry: { ...DEFAULTS.batch.retry },
      maxRows: batch.maxRows,
      maxDelayMs: batch.maxDelay,
      maxConcurrentInserts: batch.maxConcurrentInserts,
      maxQueuedBatches: batch.maxQueuedBatches,
      resendWindowMs: batch.resendWindow,
    },
    spool: { dir: path.resolve(file.spool.dir ?? path.join(home, 'spool')), maxBytes: file.spool.maxBytes },
    retention: { intervalMs: file.retention.interval },
    levels: { file: path.resolve(file.levels.file ?? path.join(home, 'levels.json')) },
    auth: authFrom(file.auth, env),
    metrics: (file.metrics ?? []).map((m, i) =>
      metricFrom(m, (writtenMetrics[i] as { match?: unknown })?.match),
    ),
    metricOptions: {
      flushIntervalMs: file.metricOptions.flushInterval,
      maxSeries: file.metricOptions.maxSeries,
    },
    ...(file.tls !== undefined ? { tls: tlsFrom(file.tls) } : {}),
  };
}
