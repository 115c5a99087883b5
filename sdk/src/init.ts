import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { isMainThread } from 'node:worker_threads';
import { format, isDeepStrictEqual } from 'node:util';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { logs, SeverityNumber } from '@opentelemetry/api-logs';
import { directRecord } from './internal/direct-record';
import { LoggerProvider } from '@opentelemetry/sdk-logs';
import type { Resource } from '@opentelemetry/resources';
import {
  defaultResource,
  detectResources,
  envDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import type { ControlEndpoint, DistlogOptions, OtlpProtocol } from './config';
import { controlTransport, resolveControlEndpoint, resolveProtocol } from './config';
import { LevelRegistry, LevelSubscriber, setLevelRegistry } from './levels';
import type { LevelControlStatus } from './levels/subscriber';
import { GrpcControlChannel } from './levels/grpc-channel';
import { HttpControlChannel } from './levels/http-channel';
import type { LevelChangeNotice } from './levels/registry';
import { createExporter } from './export/exporters';
import type { ProcessorStats } from './export/bounded-batch-processor';
import { BoundedBatchProcessor } from './export/bounded-batch-processor';
import { ensureTracing } from './tracing';
import { captureCrashes, deliverAtExit } from './crashes';
import { captureHttp, releaseHttp } from './http';
import { captureGrpc, releaseGrpc } from './grpc';
import { setDistlogLoggerProvider } from './internal/logger-provider';
import { settledWithin } from './internal/deadline';
import { sayOnStderr } from './internal/say';
import { currentDistlog, setCurrentDistlog, setDefaultInitializer } from './internal/instance';
import { hookPino } from './pino/module-hook';
import { closePinoTransports } from './pino/transport-streams';

/** What init() set up; `shutdown()` flushes and is safe to call twice. */
export interface Distlog {
  readonly loggerProvider: LoggerProvider;
  readonly resource: Resource;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
  /** Records queued, exported, dropped (queue full, oldest first) and failed (exporter gave up). */
  stats(): ProcessorStats;
  /**
   * Per logger name: the level it is at, the level its code configured, and the id of
   * the run-time rule that set it (empty when level control is off).
   */
  levels(): Record<string, { level: string; configured: string; rule?: string }>;
  /** Where the process follows level rules and whether it is connected; undefined when level control is off. */
  levelControl(): LevelControlStatus | undefined;
  /** @internal The fast path: a finished record straight into the export queue. */
  readonly processor: BoundedBatchProcessor;
}

/**
 * Sets up an OpenTelemetry LoggerProvider that exports to a Distlog collector (or
 * any OTLP endpoint). Calling it again returns the existing instance.
 */
export function init(options: DistlogOptions = {}): Distlog {
  const existing = currentDistlog();
  if (existing) {
    sayIfIgnored(options, existing);
    return existing;
  }
  started = { options, by: startedBy ?? 'an earlier init() call' };
  configureDiagnostics();
  // OTEL_SDK_DISABLED=true: nothing is sent and pino is left alone. Scopes keep their
  // spans, so a request's trace context still passes through this service to the next.
  const disabled = process.env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true';
  if (disabled) {
    diag.info('distlog: OTEL_SDK_DISABLED is true; no log records are sent');
    options = {
      ...options,
      pinoTraceContext: false,
      exitHooks: false,
      levelControl: false,
      http: false,
      grpc: false,
    };
  }
  const resource = buildResource(options);
  const protocol = resolveProtocol(options);
  if (!disabled) sayIfNoScheme(options, protocol);
  const exporter = createExporter(protocol, options.endpoint);
  const processor = new BoundedBatchProcessor(exporter, options.batch);
  if (disabled) processor.discardAll();
  // Losses are told where the records go: one WARN record per episode of drops.
  processor.onDropsReported = (dropped, total) =>
    processor.enqueue(
      directRecord(
        {
          severityNumber: SeverityNumber.WARN,
          severityText: 'WARN',
          body: `distlog dropped ${dropped} log records: the export queue was full`,
          eventName: 'distlog.sdk.dropped',
          attributes: { 'distlog.dropped_records': dropped, 'distlog.dropped_records_total': total },
        },
        undefined,
        resource,
        { name: '@distlog/sdk' },
        Date.now(),
      ),
    );
  // Records the collector refuses (a wrong key, a bad endpoint) or that cannot reach it are
  // said on stderr, once when it starts and once when it ends: not only with OTEL_LOG_LEVEL.
  // Written directly: captureConsole() may have made `console` a source of records.
  const target = resolveControlEndpoint({ ...options, controlEndpoint: undefined }, protocol, {
    ...process.env,
    DISTLOG_CONTROL_ENDPOINT: undefined,
  });
  const where = `the collector at ${target.endpoint} (${protocol === 'grpc' ? 'gRPC' : 'HTTP'})`;
  processor.onDeliveryChange = (change) =>
    sayOnStderr(
      change.failing
        ? `distlog: cannot send log records to ${where}: ${tidyReason(change.reason)}${wrongPortHint(protocol, change.reason)}; they are lost until it takes them again (counted: stats().failed)\n`
        : `distlog: sending log records to ${where} again; ${change.lost} were lost meanwhile\n`,
    );
  const loggerProvider = new LoggerProvider({ resource, processors: [processor] });
  setDistlogLoggerProvider(loggerProvider);
  // False when the app's OpenTelemetry SDK registered a provider first: it keeps it.
  logs.setGlobalLoggerProvider(loggerProvider);
  if (options.tracing !== false) ensureTracing();
  let levelRegistry: LevelRegistry | undefined;
  const subscriber =
    options.levelControl === false || process.env.DISTLOG_LEVELS === 'off'
      ? undefined
      : startLevelControl(resolveControlEndpoint(options, protocol));
  if (options.pinoTraceContext !== false) hookPino();
  // Requests in and out followed across services (http.ts), in any thread with tracing (pino's
  // transport worker has none: its init() turns tracing off).
  const followHttp =
    options.http !== false && options.tracing !== false && process.env.DISTLOG_CAPTURE_HTTP !== '0';
  if (followHttp) captureHttp();
  const followGrpc =
    options.grpc !== false && options.tracing !== false && process.env.DISTLOG_CAPTURE_GRPC !== '0';
  if (followGrpc) captureGrpc();
  // Not in pino's transport worker (a thread of its own, which also calls init()).
  const crashes =
    options.crashes === false || process.env.DISTLOG_CAPTURE_CRASHES === '0' || !isMainThread
      ? undefined
      : captureCrashes({
          processor,
          resource,
          protocol,
          endpoint: options.endpoint,
          timeoutMs: EXIT_FLUSH_TIMEOUT_MS,
        });

  let shuttingDown: Promise<void> | undefined;
  let stopExitDelivery: (() => void) | undefined;
  const instance: Distlog = {
    loggerProvider,
    resource,
    forceFlush: () => loggerProvider.forceFlush().catch((err) => diag.error('distlog: flush failed', err)),
    shutdown: () =>
      (shuttingDown ??= (subscriber?.stop(),
      crashes?.release(),
      followHttp && releaseHttp(),
      followGrpc && releaseGrpc(),
      setLevelRegistry(undefined),
      loggerProvider.shutdown()).then(
        () => {
          stopExitDelivery?.();
          if (currentDistlog() === instance) setCurrentDistlog(undefined);
        },
        (err) => diag.error('distlog: shutdown failed', err),
      )),
    stats: () => processor.stats(),
    levels: () => levelRegistry?.effectiveLevels() ?? {},
    levelControl: () => subscriber?.status(),
    processor,
  };
  setCurrentDistlog(instance);
  if (options.exitHooks !== false) {
    installExitHooks(instance);
    if (isMainThread)
      stopExitDelivery = deliverAtExit({
        processor,
        protocol,
        endpoint: options.endpoint,
        timeoutMs: EXIT_FLUSH_TIMEOUT_MS,
      });
  }
  return instance;

  function startLevelControl(control: ControlEndpoint): LevelSubscriber {
    const service = String(resource.attributes['service.name']);
    const instanceId = String(resource.attributes['service.instance.id']);
    // When a rule changes this process's levels, the process says so in one record.
    const announce = (notice: LevelChangeNotice) => {
      const what = notice.changes.map((c) => `${c.logger} ${c.from} → ${c.to}`).join(', ');
      const why = notice.rule
        ? ` (rule ${notice.rule.id}: ${notice.rule.service} / ${notice.rule.logger} → ${notice.rule.level}${notice.rule.expiresAt ? ` until ${notice.rule.expiresAt}` : ''})`
        : ' (no rule: local levels)';
      processor.enqueue(
        directRecord(
          {
            severityNumber: SeverityNumber.INFO,
            severityText: 'INFO',
            body: `log levels changed: ${what}${why}`,
            eventName: 'distlog.level.changed',
            attributes: {
              'level.changes': JSON.stringify(notice.changes),
              ...(notice.rule ? { 'level.rule.id': notice.rule.id } : {}),
            },
          },
          undefined,
          resource,
          { name: 'distlog.levels' },
          Date.now(),
        ),
      );
    };
    // The registry reports through the subscriber, which needs the registry: a late-bound link.
    const link: { subscriber?: LevelSubscriber } = {};
    const registry = (levelRegistry = new LevelRegistry(service, announce, () =>
      link.subscriber?.scheduleReport(),
    ));
    setLevelRegistry(registry);
    const channel =
      control.protocol === 'grpc'
        ? new GrpcControlChannel(control.endpoint, service, instanceId, controlTransport())
        : new HttpControlChannel(control.endpoint, service, instanceId, controlTransport());
    const levelSubscriber = (link.subscriber = new LevelSubscriber(channel, service, registry));
    levelSubscriber.start();
    return levelSubscriber;
  }
}

const DIAG_LEVELS: Record<string, DiagLogLevel> = {
  NONE: DiagLogLevel.NONE,
  ERROR: DiagLogLevel.ERROR,
  WARN: DiagLogLevel.WARN,
  INFO: DiagLogLevel.INFO,
  DEBUG: DiagLogLevel.DEBUG,
  VERBOSE: DiagLogLevel.VERBOSE,
  ALL: DiagLogLevel.ALL,
};
let diagnosticsConfigured = false;

/**
 * OTEL_LOG_LEVEL (none, error, warn, info, debug, verbose, all): the SDK's and the OTel
 * exporters' own diagnostics, written to stderr directly — not through `console`, which
 * captureConsole() may have turned into log records. Unset: silent, as OTel is.
 */
function configureDiagnostics(env = process.env): void {
  if (diagnosticsConfigured || !env.OTEL_LOG_LEVEL) return;
  diagnosticsConfigured = true;
  const level = DIAG_LEVELS[env.OTEL_LOG_LEVEL.trim().toUpperCase()];
  if (level === undefined) {
    process.stderr.write(
      `distlog: OTEL_LOG_LEVEL=${JSON.stringify(env.OTEL_LOG_LEVEL)} is not one of ${Object.keys(DIAG_LEVELS).join(', ').toLowerCase()}; ignored\n`,
    );
    return;
  }
  const write =
    (name: string) =>
    (message: string, ...args: unknown[]) =>
      process.stderr.write(`[otel ${name}] ${format(message, ...args)}\n`);
  diag.setLogger(
    {
      error: write('error'),
      warn: write('warn'),
      info: write('info'),
      debug: write('debug'),
      verbose: write('verbose'),
    },
    { logLevel: level, suppressOverrideMessage: true },
  );
}

/** grpc-js's reason without its empty `Resolution note:` and the time it adds in brackets. */
export function tidyReason(reason: string): string {
  return reason
    .replace(/\s*\(\d{4}-\d\d-\d\dT[\d:.]+Z\)/g, '')
    .replace(/\.?\s*Resolution note:\s*$/, '')
    .trim();
}

/**
 * The answer of a port that speaks the other OTLP transport: gRPC to an OTLP/HTTP port
 * gets an HTTP/1.1 answer to its HTTP/2 preface ("Protocol error"), HTTP to a gRPC port an
 * HTTP/2 frame where a status line should be ("Parse Error"). The usual cause: the port of
 * one transport (4317 gRPC, 4318 HTTP) with the other's protocol.
 */
export function wrongPortHint(protocol: OtlpProtocol, reason: string): string {
  if (protocol === 'grpc' && /Protocol error/i.test(reason))
    return " — that port answers HTTP/1.1, not gRPC: is it the collector's OTLP/HTTP port (4318)? Use its gRPC port (4317), or set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf";
  if (protocol !== 'grpc' && /Parse Error|Expected HTTP\//i.test(reason))
    return " — that port does not answer HTTP/1.1: is it the collector's OTLP/gRPC port (4317)? Use its HTTP port (4318), or set OTEL_EXPORTER_OTLP_PROTOCOL=grpc";
  return '';
}

/** The instance init() created, if any. */
export function getDistlog(): Distlog | undefined {
  return currentDistlog();
}

/** Flushes and stops the instance init() created; a no-op when there is none. */
export async function shutdown(): Promise<void> {
  await currentDistlog()?.shutdown();
}

/**
 * How long a flush on the way out (SIGTERM, the end of a pino transport's worker) may
 * take. With the collector down, the OTLP HTTP exporter retries for up to its timeout
 * (10 s); pino waits for its worker at exit with the app's thread blocked.
 */
export const EXIT_FLUSH_TIMEOUT_MS = 3000;

/**
 * Flush on the way out: `beforeExit` (the loop ran dry) and SIGTERM. When ours is the
 * only SIGTERM listener, the signal is raised again after the flush (bounded to 3 s),
 * so the process still ends the way it would have without us.
 */
function installExitHooks(instance: Distlog): void {
  let flushedAtExit = false;
  process.on('beforeExit', () => {
    if (flushedAtExit || currentDistlog() !== instance) return;
    flushedAtExit = true;
    void instance.shutdown();
  });
  const onSigterm = () => {
    const alone = process.listenerCount('SIGTERM') === 1;
    process.off('SIGTERM', onSigterm);
    const flushed = Promise.all([instance.shutdown(), closePinoTransports()]);
    void settledWithin(flushed, EXIT_FLUSH_TIMEOUT_MS).then(() => {
      if (alone) process.kill(process.pid, 'SIGTERM');
    });
  };
  process.on('SIGTERM', onSigterm);
}

/** Shared with pino's transport worker (it inherits the environment), so both report one instance. */
function instanceId(): string {
  return (process.env.DISTLOG_SERVICE_INSTANCE_ID ??= randomUUID());
}

function buildResource(options: DistlogOptions): Resource {
  const processDefaults = resourceFromAttributes({
    'service.instance.id': instanceId(),
    'host.name': os.hostname(),
    'process.pid': process.pid,
    'process.runtime.name': 'nodejs',
    'process.runtime.version': process.versions.node,
  });
  const explicit: Record<string, string | number | boolean> = { ...options.resourceAttributes };
  // A name given in code also reaches pino's transport worker, which inherits the environment.
  if (options.serviceName) process.env.DISTLOG_SERVICE_NAME = options.serviceName;
  const serviceName = options.serviceName ?? process.env.DISTLOG_SERVICE_NAME;
  if (serviceName) explicit['service.name'] = serviceName;
  return defaultResource()
    .merge(processDefaults)
    .merge(detectResources({ detectors: [envDetector] }))
    .merge(resourceFromAttributes(explicit));
}

// scope() and other parts start Distlog with the defaults when the app did not call init().
setDefaultInitializer(() => initAs('a scope or a record made before init() was called'));

/** What started the running instance: its options, and who called (for sayIfIgnored). */
let started: { options: DistlogOptions; by: string } | undefined;
let startedBy: string | undefined;
let saidIgnored = false;

/** @internal init() on behalf of `by` (the register hook, a scope made first), which says so if init() comes again. */
export function initAs(by: string, options: DistlogOptions = {}): Distlog {
  startedBy = by;
  try {
    return init(options);
  } finally {
    startedBy = undefined;
  }
}

/**
 * init() again, with options of its own, returns the running instance: said once on stderr,
 * as those options are not applied. The common case: `-r @distlog/sdk/register` started
 * Distlog from OTEL_* variables, and the app's `init({ serviceName })` came too late — its
 * records went out as unknown_service and its level rules under that name.
 */
function sayIfIgnored(options: DistlogOptions, existing: Distlog): void {
  if (saidIgnored || !started) return;
  const first = started.options as Record<string, unknown>;
  const differing = Object.entries(options as Record<string, unknown>).filter(
    ([k, v]) => v !== undefined && !isDeepStrictEqual(v, first[k]),
  );
  if (differing.length === 0) return;
  saidIgnored = true;
  const shown = differing
    .map(([k, v]) => `${k} ${typeof v === 'object' || typeof v === 'function' ? '{…}' : JSON.stringify(v)}`)
    .join(', ');
  process.stderr.write(
    `distlog: init() was called again, with ${shown}, but Distlog was started already by ${started.by} ` +
      `and keeps its settings (service ${JSON.stringify(String(existing.resource.attributes['service.name']))}). ` +
      (started.by.includes('register')
        ? 'With -r/--import @distlog/sdk/register, set OTEL_SERVICE_NAME and the other OTEL_* variables instead, or keep init() and drop the flag.\n'
        : 'Call init() once, before anything logs.\n'),
  );
}

/**
 * An endpoint written without a scheme (`collector:4317`, a common slip) is said once — by the
 * app's thread, or by pino's transport worker where only the worker exports to it: over
 * gRPC the OTel exporter then connects with TLS (unless OTEL_EXPORTER_OTLP_INSECURE=true),
 * which a collector without TLS answers with nothing an app's owner would recognise
 * ("wrong version number"); over HTTP it is not a URL at all.
 */
function sayIfNoScheme(options: DistlogOptions, protocol: OtlpProtocol): void {
  const [source, value] =
    options.endpoint !== undefined
      ? ['init({ endpoint })', options.endpoint]
      : process.env.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT !== undefined
        ? ['OTEL_EXPORTER_OTLP_LOGS_ENDPOINT', process.env.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT]
        : ['OTEL_EXPORTER_OTLP_ENDPOINT', process.env.OTEL_EXPORTER_OTLP_ENDPOINT];
  if (!value || /^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return;
  const insecure = process.env.OTEL_EXPORTER_OTLP_INSECURE?.trim().toLowerCase() === 'true';
  if (protocol === 'grpc' && insecure) return;
  // Once per process: pino's transport worker inherits the environment, and this mark.
  if (process.env.DISTLOG_SAID_NO_SCHEME === value) return;
  process.env.DISTLOG_SAID_NO_SCHEME = value;
  sayOnStderr(
    `distlog: ${source} ${JSON.stringify(value)} has no scheme: ` +
      (protocol === 'grpc'
        ? `over gRPC that means TLS, as https://${value}; for a collector without TLS write http://${value}\n`
        : `OTLP/HTTP needs a URL such as http://${value}\n`),
  );
}
