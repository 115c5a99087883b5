import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Json } from './validate';
import { Checker, ConfigErrors, join, parseDuration, parseSize } from './validate';
import type { TierConfig } from './tiers';
import type { RuleConfig, ActionConfig } from './rules-config';
import { parseRules, parseAction } from './rules-config';
import type { ReceiverLimits } from '../receivers/otlp/limits';
import type { AuthConfig, TlsConfig } from '../auth/auth-config';
import { parseAuth, parseTls } from '../auth/auth-config';
import type { BatchOptions } from '../sinks/clickhouse/table-writer';
import { DEFAULTS, DEFAULT_METRICS, DEFAULT_ROUTING } from './defaults';
import type { MetricConfig, MetricOptions } from './metrics-config';
import { parseMetricOptions, parseMetrics } from './metrics-config';
import { identifier } from '../storage/sql';

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
}

export interface CollectorConfig {
  /** Where the config came from (a file path or "defaults"), for messages. */
  source: string;
  receivers: {
    grpc: { host: string; port: number };
    http: { host: string; port: number };
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

export function parseConfig(
  text: string,
  source: string,
  env: NodeJS.ProcessEnv = process.env,
): CollectorConfig {
  let raw: Json;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ConfigErrors(source, [`not valid YAML: ${(err as Error).message}`]);
  }
  const c = new Checker();
  const config = validate(c, substituteEnv(raw ?? {}, env, c, ''), source, env);
  if (c.problems.length > 0 || !config) throw new ConfigErrors(source, c.problems);
  return config;
}

function substituteEnv(value: Json, env: NodeJS.ProcessEnv, c: Checker, at: string): Json {
  if (typeof value === 'string') {
    return value.replace(
      /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
      (_m, name: string, fallback?: string) => {
        const v = env[name];
        if (v !== undefined && v !== '') return v;
        if (fallback !== undefined) return fallback;
        c.problem(at, `environment variable ${name} is not set (write \${${name}:-default} for a fallback)`);
        return '';
      },
    );
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, c, join(at, i)));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, substituteEnv(v, env, c, join(at, k))]),
    );
  }
  return value;
}

const TOP_KEYS = [
  'receivers',
  'clickhouse',
  'tiers',
  'destinations',
  'rules',
  'default',
  'batch',
  'spool',
  'retention',
  'levels',
  'auth',
  'tls',
  'metrics',
  'metricOptions',
];

function validate(
  c: Checker,
  raw: Json,
  source: string,
  env: NodeJS.ProcessEnv,
): CollectorConfig | undefined {
  const top = c.object('', raw, TOP_KEYS);
  if (!top) return undefined;

  const receivers = c.object('receivers', top.receivers ?? {}, ['grpc', 'http', 'limits']) ?? {};
  const listener = (key: 'grpc' | 'http', port: number) => {
    const l = c.object(`receivers.${key}`, receivers[key] ?? {}, ['host', 'port']) ?? {};
    return {
      host: c.string(`receivers.${key}.host`, l.host, DEFAULTS.receivers.host)!,
      port: c.number(`receivers.${key}.port`, l.port, { min: 0, max: 65535, integer: true }, port)!,
    };
  };
  const limitsRaw =
    c.object('receivers.limits', receivers.limits ?? {}, [
      'maxRequestBytes',
      'maxDecompressedBytes',
      'maxAttributeValueLength',
      'maxNestingDepth',
    ]) ?? {};
  const limits: ReceiverLimits = {
    maxRequestBytes: parseSize(
      c,
      'receivers.limits.maxRequestBytes',
      limitsRaw.maxRequestBytes,
      DEFAULTS.receivers.limits.maxRequestBytes,
    ),
    maxDecompressedBytes: parseSize(
      c,
      'receivers.limits.maxDecompressedBytes',
      limitsRaw.maxDecompressedBytes,
      DEFAULTS.receivers.limits.maxDecompressedBytes,
    ),
    maxAttributeValueLength: c.number(
      'receivers.limits.maxAttributeValueLength',
      limitsRaw.maxAttributeValueLength,
      { min: 0, integer: true },
      DEFAULTS.receivers.limits.maxAttributeValueLength,
    )!,
    maxNestingDepth: c.number(
      'receivers.limits.maxNestingDepth',
      limitsRaw.maxNestingDepth,
      { min: 1, max: 1000, integer: true },
      DEFAULTS.receivers.limits.maxNestingDepth,
    )!,
  };

  const chRaw =
    c.object('clickhouse', top.clickhouse ?? {}, [
      'url',
      'database',
      'username',
      'password',
      'requestTimeout',
      'cluster',
      'replicated',
    ]) ?? {};
  const database = c.string('clickhouse.database', chRaw.database, DEFAULTS.clickhouse.database)!;
  try {
    identifier(database, 'database name');
  } catch (err) {
    c.problem('clickhouse.database', (err as Error).message);
  }
  const clickhouse = {
    url: c.string('clickhouse.url', chRaw.url, env.CLICKHOUSE_URL ?? DEFAULTS.clickhouse.url)!,
    database,
    username: c.string('clickhouse.username', chRaw.username, env.CLICKHOUSE_USER),
    password: typeof chRaw.password === 'string' ? chRaw.password : env.CLICKHOUSE_PASSWORD,
    requestTimeoutMs: parseDuration(
      c,
      'clickhouse.requestTimeout',
      chRaw.requestTimeout,
      DEFAULTS.clickhouse.requestTimeoutMs,
    ),
    // Empty (e.g. `${CLICKHOUSE_CLUSTER:-}` unset) means a single server.
    cluster:
      chRaw.cluster === ''
        ? undefined
        : c.string('clickhouse.cluster', chRaw.cluster, env.CLICKHOUSE_CLUSTER || undefined),
    replicated: c.boolean(
      'clickhouse.replicated',
      // `${CLICKHOUSE_REPLICATED:-false}` arrives as text; anything else is the checker's to refuse.
      chRaw.replicated === 'true'
        ? true
        : chRaw.replicated === 'false' || chRaw.replicated === ''
          ? false
          : chRaw.replicated,
      env.CLICKHOUSE_REPLICATED === 'true' || env.CLICKHOUSE_REPLICATED === '1',
    ),
  };
  if (clickhouse.replicated && clickhouse.cluster === undefined)
    c.problem(
      'clickhouse.replicated',
      'replicated tables live on the shards of a cluster: set clickhouse.cluster too',
    );
  if (clickhouse.cluster !== undefined) {
    try {
      identifier(clickhouse.cluster, 'cluster name');
    } catch (err) {
      c.problem('clickhouse.cluster', (err as Error).message);
    }
  }

  const tiers: TierConfig[] = [];
  // Names as declared, valid or not: rules are checked against them, so one bad tier gives one error.
  const tierNames: string[] = [];
  // A file silent on all of routing gets the default routing; one that declares any part of it, only its own.
  const routing =
    top.tiers === undefined && top.rules === undefined && top.default === undefined
      ? DEFAULT_ROUTING
      : { tiers: top.tiers, rules: top.rules, default: top.default };
  c.list('tiers', routing.tiers ?? []).forEach((t, i) => {
    const at = join('tiers', i);
    const o = c.object(at, t, ['name', 'table', 'retentionDays']);
    if (!o) return;
    const name = c.string(join(at, 'name'), o.name);
    const table = c.string(join(at, 'table'), o.table, name);
    const retentionDays = c.number(join(at, 'retentionDays'), o.retentionDays, { min: 1, integer: true });
    if (o.retentionDays === undefined)
      c.problem(join(at, 'retentionDays'), 'required (days to keep this tier)');
    if (table && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(table))
      c.fail(join(at, 'table'), 'a table name of letters, digits and _', table);
    if (name && tierNames.includes(name)) c.problem(join(at, 'name'), `tier "${name}" is defined twice`);
    if (name) tierNames.push(name);
    if (name && table && retentionDays) tiers.push({ name, table, retentionDays });
  });
  if (tierNames.length === 0 && !c.problems.some((p) => p.startsWith('tiers'))) {
    c.problem('tiers', 'at least one tier is needed');
  }

  const destinations: DestinationConfig[] = [];
  c.list('destinations', top.destinations).forEach((d, i) => {
    const at = join('destinations', i);
    const o = c.object(at, d, ['name', 'endpoint', 'protocol', 'headers', 'maxQueueRecords']);
    if (!o) return;
    const name = c.string(join(at, 'name'), o.name);
    const endpoint = c.string(join(at, 'endpoint'), o.endpoint);
    if (endpoint && !/^https?:\/\//.test(endpoint))
      c.fail(join(at, 'endpoint'), 'an http:// or https:// URL', endpoint);
    const protocol = o.protocol ?? DEFAULTS.destination.protocol;
    if (protocol !== 'grpc' && protocol !== 'http/protobuf')
      c.fail(join(at, 'protocol'), '"grpc" or "http/protobuf"', protocol);
    const headers =
      (o.headers === undefined
        ? {}
        : c.object(join(at, 'headers'), o.headers, Object.keys(o.headers as object))) ?? {};
    for (const [k, v] of Object.entries(headers))
      if (typeof v !== 'string') c.fail(join(join(at, 'headers'), k), 'a string', v);
    if (name && destinations.some((x) => x.name === name))
      c.problem(join(at, 'name'), `destination "${name}" is defined twice`);
    const maxQueueRecords = c.number(
      join(at, 'maxQueueRecords'),
      o.maxQueueRecords,
      { min: 1, integer: true },
      DEFAULTS.destination.maxQueueRecords,
    )!;
    if (name && endpoint)
      destinations.push({
        name,
        endpoint,
        protocol: protocol as DestinationConfig['protocol'],
        headers: headers as Record<string, string>,
        maxQueueRecords,
      });
  });

  const names = { tiers: tierNames, destinations: destinations.map((d) => d.name) };
  const rules = parseRules(c, routing.rules, names);
  const defaultAction =
    tierNames.length === 0 && routing.default === undefined
      ? { drop: true }
      : parseAction(c, 'default', routing.default ?? { store: tierNames[0] }, names, true);

  const batchRaw =
    c.object('batch', top.batch ?? {}, [
      'maxRows',
      'maxDelay',
      'maxConcurrentInserts',
      'maxQueuedBatches',
      'resendWindow',
    ]) ?? {};
  const batch: BatchOptions = {
    retry: { ...DEFAULTS.batch.retry },
    maxRows: c.number('batch.maxRows', batchRaw.maxRows, { min: 1, integer: true }, DEFAULTS.batch.maxRows)!,
    maxDelayMs: parseDuration(c, 'batch.maxDelay', batchRaw.maxDelay, DEFAULTS.batch.maxDelayMs),
    maxConcurrentInserts: c.number(
      'batch.maxConcurrentInserts',
      batchRaw.maxConcurrentInserts,
      { min: 1, max: 64, integer: true },
      DEFAULTS.batch.maxConcurrentInserts,
    )!,
    maxQueuedBatches: c.number(
      'batch.maxQueuedBatches',
      batchRaw.maxQueuedBatches,
      { min: 1, integer: true },
      DEFAULTS.batch.maxQueuedBatches,
    )!,
    resendWindowMs: parseDuration(
      c,
      'batch.resendWindow',
      batchRaw.resendWindow,
      DEFAULTS.batch.resendWindowMs,
    ),
  };

  const spoolRaw = c.object('spool', top.spool ?? {}, ['dir', 'maxBytes']) ?? {};
  const home = path.resolve(env.DISTLOG_HOME ?? '.distlog');
  const spool = {
    dir: path.resolve(c.string('spool.dir', spoolRaw.dir, path.join(home, 'spool'))!),
    maxBytes: parseSize(c, 'spool.maxBytes', spoolRaw.maxBytes, DEFAULTS.spool.maxBytes),
  };
  const retentionRaw = c.object('retention', top.retention ?? {}, ['interval']) ?? {};
  const retention = {
    intervalMs: parseDuration(c, 'retention.interval', retentionRaw.interval, DEFAULTS.retention.intervalMs),
  };
  const levelsRaw = c.object('levels', top.levels ?? {}, ['file']) ?? {};
  const levels = {
    file: path.resolve(c.string('levels.file', levelsRaw.file, path.join(home, 'levels.json'))!),
  };

  return {
    source,
    receivers: {
      grpc: listener('grpc', DEFAULTS.receivers.grpcPort),
      http: listener('http', DEFAULTS.receivers.httpPort),
      limits,
    },
    clickhouse,
    tiers,
    destinations,
    rules,
    defaultAction,
    batch,
    spool,
    retention,
    levels,
    auth: parseAuth(c, top.auth, env),
    metrics: parseMetrics(c, top.metrics === undefined ? DEFAULT_METRICS : top.metrics),
    metricOptions: parseMetricOptions(c, top.metricOptions, DEFAULTS.metricOptions),
    ...(top.tls !== undefined ? { tls: parseTls(c, top.tls) } : {}),
  };
}
