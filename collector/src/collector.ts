import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ClickHouse } from './storage/clickhouse';
import { applySchema, timeColumnTypes } from './storage/schema';
import { enforceRetention } from './storage/retention';
import type { CollectorConfig } from './config/collector-config';
import { DEFAULT_CONFIG_FILE, loadConfigFile } from './config/collector-config';
import { DEFAULTS } from './config/defaults';
import type { BatchOptions, StorageState } from './sinks/clickhouse/table-writer';
import { TableWriter } from './sinks/clickhouse/table-writer';
import { SpoolReplayer } from './sinks/clickhouse/replayer';
import { ForwardSink } from './sinks/otlp/forward-sink';
import type { Routes } from './pipeline/pipeline';
import { RoutingPipeline } from './pipeline/pipeline';
import { MetricSink } from './metrics/metric-sink';
import { Router } from './router/router';
import { OtlpHttpReceiver } from './receivers/otlp/http-receiver';
import { OtlpGrpcReceiver } from './receivers/otlp/grpc-receiver';
import type { ReceiverLimits } from './receivers/otlp/limits';
import { Spool } from './helpers/spool';
import { COLLECTOR_VERSION } from './version';
import { statusRoute } from './control/status';
import { CorsPolicy } from './receivers/otlp/cors';
import { CollectorMetrics } from './telemetry/metrics';
import { log } from './helpers/log';
import type { LevelChange } from './control/level-store';
import { LevelStore } from './control/level-store';
import { CollectorRegistry } from './control/collector-registry';
import { TailHub } from './tail/tail-hub';
import { SenderTracker } from './control/senders';
import { levelRoutes } from './control/level-http';
import { levelControlHandlers, levelControlService } from './control/level-grpc';
import { levelChangeRecord } from './control/level-audit';
import { FailureThrottle } from './auth/throttle';
import { AuthError, Authenticator } from './auth/authenticator';
import type { Component } from './pipeline/component';

/**
 * Options for startCollector: a validated configuration (default: the shipped
 * collector/config/default.yaml) with a few common overrides on top.
 */
export interface CollectorOptions {
  config?: CollectorConfig;
  /** Overrides of config.clickhouse. */
  clickhouse?: Partial<CollectorConfig['clickhouse']>;
  /** gRPC listener; port 0 picks a free one. */
  grpc?: { host?: string; port?: number };
  /** HTTP listener; port 0 picks a free one. */
  http?: { host?: string; port?: number };
  batch?: Partial<BatchOptions>;
  limits?: Partial<ReceiverLimits>;
  /** Spool folder (default: config, i.e. $DISTLOG_HOME/spool); `false` disables the spool. */
  spoolDir?: string | false;
  /** Apply schema migrations at start (and for new tiers on reload). Default true. */
  applySchema?: boolean;
  /** Level rules file (default: config, i.e. $DISTLOG_HOME/levels.json). */
  levelsFile?: string;
}

export interface RunningCollector {
  grpcPort: number;
  httpPort: number;
  clickhouse: ClickHouse;
  metrics: CollectorMetrics;
  config: CollectorConfig;
  levels: LevelStore;
  /** Resolves when the retention pass in progress (one runs at start) is over. */
  retention(): Promise<void>;
  /** Writes the declared metrics gathered so far (they are written every metricOptions.flushInterval). */
  flushMetrics(): Promise<void>;
  /** Re-reads a configuration (rules, tiers, destinations, batching) without dropping records. */
  reload(config: CollectorConfig): Promise<void>;
  /** Stops receiving, stores what was accepted, closes ClickHouse. Safe to call twice. */
  stop(): Promise<void>;
}

export function effectiveConfig(options: CollectorOptions): CollectorConfig {
  const base = options.config ?? loadConfigFile(DEFAULT_CONFIG_FILE);
  return {
    ...base,
    metrics: base.metrics ?? [],
    metricOptions: base.metricOptions ?? DEFAULTS.metricOptions,
    clickhouse: { ...base.clickhouse, ...definedOnly(options.clickhouse ?? {}) },
    receivers: {
      grpc: { ...base.receivers.grpc, ...definedOnly(options.grpc ?? {}) },
      http: { ...base.receivers.http, ...definedOnly(options.http ?? {}) },
      limits: { ...base.receivers.limits, ...definedOnly(options.limits ?? {}) },
    },
    batch: { ...base.batch, ...definedOnly(options.batch ?? {}) },
    spool: { ...base.spool, dir: typeof options.spoolDir === 'string' ? options.spoolDir : base.spool.dir },
    levels: { file: options.levelsFile ?? base.levels.file },
  };
}

export async function startCollector(options: CollectorOptions = {}): Promise<RunningCollector> {
  let config = effectiveConfig(options);
  const metrics = new CollectorMetrics();
  const ch = await ClickHouse.connect(config.clickhouse);
  const migrate = options.applySchema !== false;
  // What the schema needed (new tables, a tier's retention changed), in the collector's log.
  const migrateSchema = async (tiers: CollectorConfig['tiers']) => {
    const steps = await applySchema(ch, tiers);
    if (steps.length > 0)
      log('info', 'schema applied', { steps: steps.map((s) => `${s.migration} to ${s.target}`) });
  };
  if (migrate) await migrateSchema(config.tiers);

  let spool: Spool | undefined;
  let replayer: SpoolReplayer | undefined;
  if (options.spoolDir !== false) {
    spool = new Spool(config.spool.dir, config.spool.maxBytes);
    await spool.start();
    replayer = new SpoolReplayer(
      ch,
      spool,
      metrics,
      migrate ? () => migrateSchema(config.tiers) : undefined,
      config.batch.resendWindowMs,
    );
    await replayer.start();
    if (!spool.isEmpty())
      log('info', 'replaying spooled batches', { batches: spool.count, bytes: spool.bytes });
    if (spool.requeuedAtStart > 0)
      log('info', 'trying set-aside batches again', { batches: spool.requeuedAtStart });
  }
  const state: StorageState = { spool, metrics };
  metrics.gauge('distlog_spool_bytes', 'Bytes waiting in the on-disk spool.', () => spool?.bytes ?? 0);
  metrics.gauge('distlog_spool_batches', 'Batches waiting in the on-disk spool.', () => spool?.count ?? 0);
  metrics.gauge(
    'distlog_spool_set_aside_batches',
    'Spooled batches ClickHouse refused, set aside until the collector restarts or reloads.',
    () => spool?.setAside.batches ?? 0,
  );

  if (ch.serialStatements && config.batch.maxConcurrentInserts > 1)
    log('info', 'this store runs one statement at a time: one insert at a time per table', {
      'batch.maxConcurrentInserts': config.batch.maxConcurrentInserts,
    });
  // How each tier table stores `Timestamp` (DateTime64(9) on current servers): rows are encoded for it.
  let timeTypes = await timeColumnTypes(
    ch,
    config.tiers.map((t) => t.table),
  );
  const buildRoutes = (cfg: CollectorConfig, previous?: Routes): Routes => {
    const writers = new Map<string, TableWriter>();
    for (const tier of cfg.tiers) {
      const old = previous?.writers.get(tier.name);
      const timeNanos = timeTypes.get(tier.table) === 'DateTime64(9)';
      const writer =
        old && old.table === tier.table && old.timeNanos === timeNanos
          ? old
          : new TableWriter(ch, tier.table, cfg.batch, state, timeNanos);
      writer.retentionDays = tier.retentionDays;
      writers.set(tier.name, writer);
    }
    const forwards = new Map<string, ForwardSink>();
    for (const d of cfg.destinations) {
      const old = previous?.forwards.get(d.name);
      forwards.set(
        d.name,
        old && JSON.stringify(old.config) === JSON.stringify(d) ? old : new ForwardSink(d, metrics),
      );
    }
    return { router: new Router(cfg.rules, cfg.defaultAction), writers, forwards };
  };
  const tail = new TailHub();
  // Declared metrics (made once the collector has its id, below); records count before any drop.
  const declared: { sink?: MetricSink } = {};
  const pipeline = new RoutingPipeline(buildRoutes(config), metrics, tail, {
    tally: (rows) => declared.sink?.tally(rows) ?? (() => {}),
  });
  metrics.gauge('distlog_forward_queue_records', 'Records waiting to be forwarded (all destinations).', () =>
    [...pipeline.current.forwards.values()].reduce((n, f) => n + f.queued, 0),
  );

  // Run-time level rules; every change is itself a log record (the audit trail).
  const levels = await LevelStore.open({
    ch,
    legacyFile: config.levels.file,
    onChange: (change) => {
      // An expiry may be seen by several collectors at once: its record has one id
      // everywhere, so it is stored once (request ids) even if two record it.
      const requestId = change.kind === 'expired' ? auditRequestId(change) : undefined;
      pipeline
        .consume([levelChangeRecord(change)], requestId)
        .catch((err) => log('warn', 'level audit record not stored', { error: String(err) }));
      log('info', `level rule ${change.kind}`, { rule: change.rule });
    },
  });

  const metricSink = new MetricSink(ch, config.metrics, config.metricOptions, metrics, levels.collectorId);
  declared.sink = metricSink;
  await metricSink.start();
  metrics.extra = () => metricSink.prometheus.render();

  const limits = config.receivers.limits;
  // Replaced on reload, so keys and tokens can be rotated without a restart.
  let authenticator = new Authenticator(config.auth);
  const auth = () => authenticator;
  const { tls } = config;
  // Wrong ingest keys: 10 a minute per client address, over both protocols (then 429 / RESOURCE_EXHAUSTED).
  const throttle = new FailureThrottle();
  // Which processes send records: those that do not follow level rules are listed as such.
  const senders = new SenderTracker(pipeline);
  const grpcReceiver = new OtlpGrpcReceiver(
    { ...config.receivers.grpc, limits, auth, tls, throttle },
    senders,
    metrics,
  );
  grpcReceiver.addService(levelControlService(), levelControlHandlers(levels, auth));
  // Replaced on reload too: origins can be allowed without a restart.
  let corsPolicy = new CorsPolicy(config.receivers.http.cors);
  const httpReceiver = new OtlpHttpReceiver(
    { ...config.receivers.http, limits, auth, tls, throttle, cors: () => corsPolicy },
    senders,
    metrics,
  );
  httpReceiver.addRoute(levelRoutes(levels, auth, () => senders.list()));
  // What readers may see (the live tail, the status): a user token where users are configured
  // (the query servers use one). False when refused (answered here).
  const readerAllowed = (req: IncomingMessage, res: ServerResponse): boolean => {
    try {
      authenticator.userFromHeader(req.headers.authorization);
      return true;
    } catch (err) {
      if (!(err instanceof AuthError)) throw err;
      res.statusCode = err.status;
      if (err.status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="distlog"');
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ error: err.message }));
      return false;
    }
  };
  httpReceiver.addRoute((req, res) => {
    if ((req.url ?? '').split('?', 1)[0] !== '/v1/tail' || req.method !== 'GET') return false;
    if (readerAllowed(req, res)) tail.serve(req, res);
    return true;
  });
  // This collector's state in one answer, for `distlog status` (through the query server).
  httpReceiver.addRoute(
    statusRoute({
      collectorId: levels.collectorId,
      ch,
      spool,
      metrics,
      startedAt: new Date(),
      ready: () => ready && !spool?.full,
      tiers: () => config.tiers,
      processes: () => senders.list().length,
      readerAllowed,
    }),
  );
  let ready = true;
  httpReceiver.addRoute((req, res) => {
    const path = (req.url ?? '').split('?', 1)[0];
    if (req.method !== 'GET') return false;
    if (path === '/metrics') {
      res.setHeader('Content-Type', 'text/plain; version=0.0.4; charset=utf-8');
      res.end(metrics.render());
      return true;
    }
    if (path === '/healthz' || path === '/readyz') {
      const ok = path === '/healthz' || (ready && !spool?.full);
      res.statusCode = ok ? 200 : 503;
      res.setHeader('Content-Type', 'text/plain');
      res.end(ok ? 'ok\n' : 'not ready: spool full or stopping\n');
      return true;
    }
    return false;
  });

  try {
    await grpcReceiver.start();
    await httpReceiver.start();
  } catch (err) {
    await shutdownAll([grpcReceiver, httpReceiver, tail, metricSink, levels, replayer, spool]);
    await ch.close();
    throw err;
  }
  const grpcPort = grpcReceiver.port;
  const httpPort = httpReceiver.port;

  // Where query servers find this collector's live tail (DISTLOG_ADVERTISE_URL behind NAT or in containers).
  const registry = new CollectorRegistry(
    ch,
    levels.collectorId,
    process.env.DISTLOG_ADVERTISE_URL ??
      advertisedUrl(config.receivers.http.host, httpPort, tls !== undefined),
  );
  await registry.start();

  const runRetention = async () => {
    try {
      const dropped = await enforceRetention(ch, config.tiers);
      if (dropped.length > 0) log('info', 'retention dropped partitions', { dropped });
    } catch (err) {
      log('warn', 'retention run failed', { error: String(err) });
    }
  };
  let retentionRun = runRetention();
  let retentionTimer = setInterval(() => (retentionRun = runRetention()), config.retention.intervalMs);
  retentionTimer.unref();

  log('info', 'collector started', {
    version: COLLECTOR_VERSION,
    node: process.version,
    grpcPort,
    httpPort,
    clickhouse: ch.url,
    database: ch.database,
    server: ch.features.version,
    config: config.source,
    tiers: config.tiers.map((t) => t.name),
    tls: tls ? (tls.clientCa ? 'on, client certificates required' : 'on') : 'off',
    ingest: authenticator.ingestRequired
      ? `${config.auth.ingestKeys.length} ingest keys`
      : 'open: no ingest keys',
    levelControl: authenticator.usersRequired ? `${config.auth.users.length} users` : 'open: no users',
  });
  const exposed = [config.receivers.grpc.host, config.receivers.http.host].some((h) => !isLoopback(h));
  if (exposed && !authenticator.ingestRequired)
    log(
      'warn',
      'the collector listens beyond loopback and accepts records from anyone: configure auth.ingestKeys',
    );

  let stopping: Promise<void> | undefined;
  return {
    grpcPort,
    httpPort,
    clickhouse: ch,
    metrics,
    levels,
    retention: () => retentionRun,
    flushMetrics: () => metricSink.flush(),
    get config() {
      return config;
    },
    async reload(next: CollectorConfig) {
      const merged = effectiveConfig({ ...options, config: next });
      if (migrate) await migrateSchema(merged.tiers);
      const requeued = (await spool?.requeueSetAside()) ?? 0;
      if (requeued > 0) log('info', 'trying set-aside batches again', { batches: requeued });
      timeTypes = await timeColumnTypes(
        ch,
        merged.tiers.map((t) => t.table),
      );
      const previous = pipeline.current;
      pipeline.replaceRoutes(buildRoutes(merged, previous));
      // Writers and sinks that are no longer used finish what they hold.
      for (const [name, w] of previous.writers)
        if (pipeline.current.writers.get(name) !== w) await w.shutdown();
      for (const [name, f] of previous.forwards)
        if (pipeline.current.forwards.get(name) !== f) await f.shutdown();
      if (merged.retention.intervalMs !== config.retention.intervalMs) {
        clearInterval(retentionTimer);
        retentionTimer = setInterval(() => (retentionRun = runRetention()), merged.retention.intervalMs);
        retentionTimer.unref();
      }
      await metricSink.replace(merged.metrics, merged.metricOptions);
      authenticator = new Authenticator(merged.auth);
      corsPolicy = new CorsPolicy(merged.receivers.http.cors);
      config = merged;
      log('info', 'configuration reloaded', {
        config: merged.source,
        rules: merged.rules.length,
        tiers: merged.tiers.map((t) => t.name),
      });
    },
    stop: () =>
      (stopping ??= (async () => {
        ready = false;
        clearInterval(retentionTimer);
        await retentionRun;
        // Level control and live tail end their streams first (processes and query servers
        // move to another collector), then receiving stops, then everything held is stored.
        await shutdownAll([levels, tail, registry]);
        await shutdownAll([grpcReceiver, httpReceiver]);
        const { writers, forwards } = pipeline.current;
        await shutdownAll([...writers.values(), metricSink, ...forwards.values()]);
        await shutdownAll([replayer, spool]);
        await ch.close();
      })()),
  };
}

/** Shuts the components down together; one that fails is logged and the others still finish. */
async function shutdownAll(components: ReadonlyArray<Component | undefined>): Promise<void> {
  const results = await Promise.allSettled(components.map((c) => c?.shutdown()));
  for (const r of results)
    if (r.status === 'rejected')
      log('warn', 'a component did not shut down cleanly', { error: String(r.reason) });
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

function auditRequestId(change: LevelChange): bigint {
  return createHash('sha1')
    .update(`distlog.level.${change.kind}\u0000${change.rule.id}`)
    .digest()
    .readBigUInt64LE(0);
}

/** The collector's HTTP base URL as other hosts reach it: its host name when it listens on every interface. */
function advertisedUrl(host: string, port: number, https: boolean): string {
  const reachable = host === '0.0.0.0' || host === '::' || host === '' ? hostname() : host;
  const name = reachable.includes(':') ? `[${reachable}]` : reachable;
  return `${https ? 'https' : 'http'}://${name}:${port}`;
}
