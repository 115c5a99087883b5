import { readFileSync } from 'node:fs';
import { diag } from '@opentelemetry/api';
/**
 * SDK options. Every field is optional; the standard OTEL_* environment variables are
 * read where a field is unset, then the defaults documented beside each field apply.
 */
import type { BoundedBatchOptions } from './export/bounded-batch-processor';

export type OtlpProtocol = 'grpc' | 'http/protobuf' | 'http/json';

export interface DistlogOptions {
  /** service.name. Default: OTEL_SERVICE_NAME, then OTEL_RESOURCE_ATTRIBUTES, then `unknown_service:node`. */
  serviceName?: string;
  /**
   * Collector endpoint. For gRPC `http://host:4317`; for HTTP the base URL
   * (`/v1/logs` is appended). Default: OTEL_EXPORTER_OTLP_LOGS_ENDPOINT /
   * OTEL_EXPORTER_OTLP_ENDPOINT as the OTel exporters read them, else localhost.
   */
  endpoint?: string;
  /** Default: OTEL_EXPORTER_OTLP_LOGS_PROTOCOL, OTEL_EXPORTER_OTLP_PROTOCOL, then `grpc`. */
  protocol?: OtlpProtocol;
  /** Extra resource attributes; they win over OTEL_RESOURCE_ATTRIBUTES. */
  resourceAttributes?: Record<string, string | number | boolean>;
  /** Batching and the memory bound (defaults: OTEL_BLRP_* variables, then 16 384 / 1024 / 1000 ms / 30 s; 2 exports in flight). */
  batch?: BoundedBatchOptions;
  /**
   * Register the async context manager and the W3C propagators when the app has none, and
   * give the API's tracer an ids-only delegate (never a registered provider: an app's own
   * OpenTelemetry SDK, started before or after init(), is always used as it is). Default true.
   */
  tracing?: boolean;
  /** Add trace context (and scope attributes) to the lines of pino loggers created after init(). Default true. */
  pinoTraceContext?: boolean;
  /**
   * Uncaught exceptions (FATAL) and unhandled rejections (ERROR) as records, delivered
   * before the process ends, and process warnings as WARN records (crashes.ts). Default
   * true; DISTLOG_CAPTURE_CRASHES=0 turns it off.
   */
  crashes?: boolean;
  /**
   * Follow requests across services with no code (http.ts): every node:http/https server's
   * requests run in a scope continuing the caller's `traceparent`, and outgoing requests
   * (node:http/https, fetch) carry the current scope's. Default true; DISTLOG_CAPTURE_HTTP=0
   * turns it off. Off by itself where another instrumentation makes the request spans.
   */
  http?: boolean;
  /**
   * Follow gRPC calls (@grpc/grpc-js) the same way: each call a server answers runs in a
   * scope continuing the caller's, each call a client makes carries the current scope's
   * trace context in its metadata. Default true; DISTLOG_CAPTURE_GRPC=0 turns it off.
   * Off by itself where OpenTelemetry's grpc instrumentation makes the call spans.
   */
  grpc?: boolean;
  /** Flush on `beforeExit` and SIGTERM. Default true. */
  exitHooks?: boolean;
  /**
   * Follow run-time level rules from the collector. Default true (DISTLOG_LEVELS=off
   * turns it off). By default over the endpoint and protocol the logs are exported to
   * (see resolveControlEndpoint); `controlEndpoint` or DISTLOG_CONTROL_ENDPOINT names a
   * collector's HTTP base URL instead.
   */
  levelControl?: boolean;
  controlEndpoint?: string;
}

const PROTOCOLS: readonly OtlpProtocol[] = ['grpc', 'http/protobuf', 'http/json'];

/** An unknown protocol is reported through OTel's diag logger and gRPC is used: the SDK never throws into the app. */
export function resolveProtocol(options: DistlogOptions, env = process.env): OtlpProtocol {
  const raw =
    options.protocol ?? env.OTEL_EXPORTER_OTLP_LOGS_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'grpc';
  if (!PROTOCOLS.includes(raw as OtlpProtocol)) {
    diag.error(
      `distlog: unsupported OTLP protocol ${JSON.stringify(raw)} (expected ${PROTOCOLS.join(', ')}); using grpc`,
    );
    return 'grpc';
  }
  return raw as OtlpProtocol;
}

export interface ControlTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/**
 * The level-control connection reuses what the OTLP exporter sends with: its headers
 * (OTEL_EXPORTER_OTLP_LOGS_HEADERS / OTEL_EXPORTER_OTLP_HEADERS, e.g.
 * `Authorization=Bearer <ingest key>`) and its CA file (OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE /
 * OTEL_EXPORTER_OTLP_CERTIFICATE), and for mutual TLS its client certificate and key
 * (OTEL_EXPORTER_OTLP_[LOGS_]CLIENT_CERTIFICATE / _CLIENT_KEY). A file that cannot be
 * read is reported, not thrown.
 */
export function controlTransport(env = process.env): ControlTls & { headers: Record<string, string> } {
  const headers: Record<string, string> = {};
  for (const raw of [env.OTEL_EXPORTER_OTLP_HEADERS, env.OTEL_EXPORTER_OTLP_LOGS_HEADERS]) {
    for (const pair of (raw ?? '').split(',')) {
      const i = pair.indexOf('=');
      if (i <= 0) continue;
      try {
        headers[decodeURIComponent(pair.slice(0, i).trim())] = decodeURIComponent(pair.slice(i + 1).trim());
      } catch {
        diag.warn(`distlog: ignoring a malformed OTLP header entry`);
      }
    }
  }
  const file = (name: string, what: string): Buffer | undefined => {
    const at = env[`OTEL_EXPORTER_OTLP_LOGS_${name}`] ?? env[`OTEL_EXPORTER_OTLP_${name}`];
    if (!at) return undefined;
    try {
      return readFileSync(at);
    } catch (err) {
      diag.error(`distlog: cannot read the ${what} ${at}: ${(err as Error).message}`);
      return undefined;
    }
  };
  const ca = file('CERTIFICATE', 'CA file');
  // Mutual TLS: the client certificate and key the OTLP exporter presents, used here too.
  const cert = file('CLIENT_CERTIFICATE', 'client certificate');
  const key = file('CLIENT_KEY', 'client key');
  return { headers, ...(ca ? { ca } : {}), ...(cert && key ? { cert, key } : {}) };
}

/** Where and how to follow level rules: the OTLP endpoint the app exports to, over its protocol. */
export interface ControlEndpoint {
  protocol: 'grpc' | 'http';
  /** gRPC: the exporter's `http(s)://host:port`; HTTP: the base URL the `/v1/levels/…` paths go under. */
  endpoint: string;
}

/**
 * The collector that receives the logs also serves their level rules, on the same port:
 * an app exporting over gRPC subscribes with distlog.v1.LevelControl on that address,
 * one exporting over HTTP follows the SSE stream under the same base URL — in every
 * topology (ports, proxies, TLS), with nothing more to set. `controlEndpoint` /
 * DISTLOG_CONTROL_ENDPOINT (the HTTP base URL of a collector) overrides it.
 */
export function resolveControlEndpoint(
  options: DistlogOptions,
  protocol: OtlpProtocol,
  env = process.env,
): ControlEndpoint {
  const override = options.controlEndpoint ?? env.DISTLOG_CONTROL_ENDPOINT;
  if (override) return { protocol: 'http', endpoint: override };
  if (protocol === 'grpc') {
    const endpoint =
      options.endpoint ?? env.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT;
    return { protocol: 'grpc', endpoint: endpoint ?? 'http://localhost:4317' };
  }
  // OTLP/HTTP: the signal's own variable is the full URL of /v1/logs; the others are base URLs.
  const base =
    options.endpoint ??
    env.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT ??
    env.OTEL_EXPORTER_OTLP_ENDPOINT ??
    'http://localhost:4318';
  return { protocol: 'http', endpoint: base.replace(/\/+$/, '').replace(/\/v1\/logs$/, '') };
}
