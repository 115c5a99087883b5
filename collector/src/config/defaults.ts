/**
 * Every default of the collector's configuration, in one place. The checker in
 * collector-config.ts fills what a file leaves out from here, the components that can
 * run without a file (decoders, writers in tests) take their defaults from here, and the
 * shipped `config/default.yaml` writes the same values out (a test holds the two equal).
 */
export const DEFAULTS = {
  receivers: {
    host: '127.0.0.1',
    grpcPort: 4317,
    httpPort: 4318,
    limits: {
      maxRequestBytes: 16 * 1024 * 1024,
      maxDecompressedBytes: 64 * 1024 * 1024,
      /** Longer attribute values are cut and the record gets distlog.truncated=true. */
      maxAttributeValueLength: 65_536,
      maxNestingDepth: 32,
    },
  },
  clickhouse: {
    url: 'http://127.0.0.1:8123',
    database: 'distlog',
    requestTimeoutMs: 30_000,
  },
  /** maxRequestBytes: what gRPC servers take by default (4 MiB), the OpenTelemetry Collector's among them. */
  destination: { protocol: 'grpc', maxQueueRecords: 100_000, maxRequestBytes: 4 * 1024 * 1024 },
  batch: {
    maxRows: 20_000,
    maxDelayMs: 200,
    maxConcurrentInserts: 2,
    maxQueuedBatches: 16,
    resendWindowMs: 15 * 60_000,
    retry: { attempts: 2, initialDelayMs: 100, maxDelayMs: 500 },
  },
  spool: { maxBytes: 1024 ** 3 },
  retention: { intervalMs: 3_600_000 },
  metricOptions: { flushIntervalMs: 10_000, maxSeries: 10_000 },
} as const;

/**
 * The metrics a configuration gets when it says nothing about metrics (`metrics: []`
 * declares none): records per service and severity, scope durations per service and
 * scope name, and usage events per event name. Written as a file would write them.
 */
export const DEFAULT_METRICS = [
  {
    name: 'records',
    description: 'Records per service and severity',
    kind: 'count',
    by: ['service.name', 'severity'],
    retention: '400d',
  },
  {
    name: 'scope_duration_ms',
    description: 'Durations of Distlog scopes (scope.duration_ms) per service and scope name',
    unit: 'ms',
    match: { eventName: 'distlog.scope.end' },
    kind: 'distribution',
    value: 'scope.duration_ms',
    by: ['service.name', 'scope.name'],
    retention: '5y',
  },
  {
    name: 'usage_events',
    description: 'usage.* events per service and event name',
    match: { eventName: 'usage.*' },
    kind: 'count',
    by: ['service.name', 'event.name'],
    retention: '5y',
  },
];

/**
 * The routing a configuration gets when it says nothing about tiers, rules and the
 * default action: three tiers, usage and performance events to `longterm`, DEBUG and
 * TRACE to `debug`, the rest to `logs`. They are one unit: a file that declares its own
 * tiers starts with no rules (rules naming tiers it may not have would be errors).
 * Written as a file would write it, so it goes through the same checks.
 */
export const DEFAULT_ROUTING = {
  tiers: [
    { name: 'logs', retentionDays: 30 },
    { name: 'debug', retentionDays: 3 },
    { name: 'longterm', retentionDays: 400 },
  ],
  rules: [
    {
      name: 'request-scopes',
      match: { eventName: 'distlog.scope.end', attributes: { 'http.status_code': { exists: true } } },
      store: 'logs',
    },
    {
      name: 'request-scopes-semconv',
      match: {
        eventName: 'distlog.scope.end',
        attributes: { 'http.response.status_code': { exists: true } },
      },
      store: 'logs',
    },
    {
      name: 'rpc-scopes',
      match: { eventName: 'distlog.scope.end', attributes: { 'rpc.system': { exists: true } } },
      store: 'logs',
    },
    {
      name: 'operation-spans',
      match: { eventName: 'distlog.scope.end', attributes: { 'span.kind': { exists: true } } },
      store: 'logs',
    },
    {
      name: 'usage-and-performance-events',
      match: { eventName: ['usage.*', 'perf.*', 'distlog.scope.end'] },
      store: 'longterm',
    },
    {
      name: 'marked-usage-and-performance',
      match: { attributes: { 'distlog.kind': { pattern: '^(usage|performance)$' } } },
      store: 'longterm',
    },
    { name: 'debug-and-trace', match: { severity: { atMost: 'DEBUG4' } }, store: 'debug' },
  ],
  default: { store: 'logs' },
};
