import { z } from 'zod';
import { SEVERITY_TEXT_BY_NUMBER } from '../model/log-row';
import { DEFAULTS } from './defaults';
import { checkAuth, checkRouting, checkTls } from './schema-refine';
import {
  anyKeys,
  duration,
  expected,
  flag,
  list,
  mapping,
  nameList,
  names,
  number,
  regexText,
  size,
  sqlName,
  text,
} from './schema-kit';

/**
 * The collector's configuration file, described once: this schema checks a file (every
 * problem at once, each under its key path), fills every default (from ./defaults.ts), and
 * is published as JSON Schema (`collector/config/collector.schema.json`, written by
 * `npm run schema -w @distlog/collector`) so that editors complete and check
 * `collector.yaml`. What needs more than one key at a time — a rule naming a tier, a
 * secret read from the environment — is checked in ./schema-refine.ts.
 */
const SEVERITY_WHAT =
  'a severity name (TRACE, DEBUG, INFO, WARN, ERROR, FATAL, or e.g. INFO2) or number 1-24';

function severity(description: string) {
  const e = expected(SEVERITY_WHAT);
  return z
    .union(
      [
        z.number(e).int(e).min(1, e).max(24, e),
        z
          .string(e)
          .refine((s) => SEVERITY_TEXT_BY_NUMBER.indexOf(s.toUpperCase()) > 0, e)
          .transform((s) => SEVERITY_TEXT_BY_NUMBER.indexOf(s.toUpperCase())),
      ],
      e,
    )
    .describe(description);
}

const listenerFields = (port: number) => ({
  host: text('Address to listen on (0.0.0.0: every interface).').default(DEFAULTS.receivers.host),
  port: number('Port (0: any free port).', { min: 0, max: 65535, integer: true }).default(port),
});

const listener = (port: number, what: string) => mapping(listenerFields(port), what).prefault({});

const match = mapping(
  {
    service: names('service.name globs (`*`, `?`): any of them.').optional(),
    severity: mapping(
      {
        atLeast: severity('Lowest severity matched.').optional(),
        atMost: severity('Highest severity matched.').optional(),
      },
      'Severity range.',
    ).optional(),
    scope: names('Logger (instrumentation scope) globs.').optional(),
    eventName: names('Event name globs.').optional(),
    attributes: anyKeys(
      z.union(
        [
          z.string(),
          z.number(),
          z.boolean(),
          mapping(
            {
              equals: z.union([z.string(), z.number(), z.boolean()]).optional(),
              exists: flag('The attribute is present (true) or absent (false).').optional(),
              pattern: regexText('Regular expression the value matches.').optional(),
            },
            'A condition on the attribute.',
          ).refine(
            (c) => c.equals !== undefined || c.exists !== undefined || c.pattern !== undefined,
            'needs equals, exists or pattern',
          ),
        ],
        expected('a value, or a mapping of equals, exists or pattern'),
      ),
      'Record attributes: a value it equals, or { equals | exists | pattern }.',
    ).optional(),
    body: mapping(
      {
        contains: text('Text the body contains.').optional(),
        pattern: regexText('Regular expression the body matches.').optional(),
      },
      'Conditions on the body.',
    ).optional(),
  },
  'Conditions a record must all meet (absent: every record).',
);

const actionShape = {
  store: text('Tier to store into.').optional(),
  forward: names('Destinations to forward to.').optional(),
  drop: flag('Drop the record.').default(false),
  reject: z
    .union([z.string().min(1), z.boolean()], expected('a message or true'))
    .optional()
    .describe('Refuse the record; the client is told this message (OTLP partial success).'),
  sample: number('Fraction (0–1] of matching records the action applies to; the rest is dropped.', {
    min: 0,
    max: 1,
  }).optional(),
};

const rule = mapping(
  {
    name: text('Names the rule in metrics and messages.'),
    match: match.optional(),
    continue: flag('Go on to the next rules after this one matched.').default(false),
    ...actionShape,
  },
  'A routing rule: the first that matches decides (unless `continue: true`).',
);

const tier = mapping(
  {
    name: text('Names the tier (rules store into it by this name).'),
    table: sqlName('table name', 'ClickHouse table (default: the name).').optional(),
    retentionDays: number('Days the tier keeps records.', { min: 1, integer: true }),
  },
  'A retention tier: one table, kept so many days.',
);

const destination = mapping(
  {
    name: text('Names the destination (rules forward to it by this name).'),
    endpoint: text('http(s)://host:port (gRPC) or an OTLP/HTTP base URL.').regex(
      /^https?:\/\//,
      expected('an http:// or https:// URL'),
    ),
    protocol: z
      .enum(['grpc', 'http/protobuf'], expected('"grpc" or "http/protobuf"'))
      .default(DEFAULTS.destination.protocol)
      .describe('OTLP transport.'),
    headers: anyKeys(z.string(expected('a string')), 'Headers sent with every request.').default({}),
    maxQueueRecords: number('Records held while it is slow or down; past it the oldest are dropped.', {
      min: 1,
      integer: true,
    }).default(DEFAULTS.destination.maxQueueRecords),
    maxRequestBytes: size(
      'Largest request sent (lowered by itself when the destination refuses one as too large).',
    ).default(DEFAULTS.destination.maxRequestBytes),
  },
  'Another OTLP endpoint records can be forwarded to.',
);

const secretName = () => text('Names it in logs and metrics (the secret never is).');
const keySource = {
  keyEnv: text('Environment variable holding the key.').optional(),
  keyFile: text('File holding the key.').optional(),
};

const auth = mapping(
  {
    ingestKeys: list(
      mapping(
        {
          name: secretName(),
          ...keySource,
          tenant: text('Stamped on its records as distlog.tenant.').optional(),
          services: nameList('service names', 'service.name values it may send (absent: any).').optional(),
        },
        'A key OTLP senders present (Authorization: Bearer KEY).',
      ),
      'Who may send; none: anyone.',
    ).default([]),
    users: list(
      mapping(
        {
          name: secretName(),
          tokenEnv: text('Environment variable holding the token.').optional(),
          tokenFile: text('File holding the token.').optional(),
          role: z.enum(['reader', 'admin'], expected('reader or admin')).describe('reader or admin.'),
          tenants: nameList(
            'tenant names',
            'Tenants whose records the user may read (absent: all).',
          ).optional(),
        },
        'A user of the query API, web UI and level control.',
      ),
      'Who may read; none: anyone.',
    ).default([]),
    sessionKeys: list(
      mapping({ name: secretName(), ...keySource }, 'A key signing web UI sessions.'),
      'Newest first: the first signs, every one is accepted.',
    ).optional(),
  },
  'Ingest keys, users and session keys; secrets come from environment variables or files.',
);

const tls = mapping(
  {
    certFile: text('PEM certificate of the collector and query server.').optional(),
    keyFile: text('PEM private key.').optional(),
    caFile: text('Authorities the query server trusts when it calls collectors.').optional(),
    clientCaFile: text(
      'Mutual TLS: only clients with a certificate from these authorities connect.',
    ).optional(),
    clientCertFile: text('The query server’s client certificate (with clientKeyFile).').optional(),
    clientKeyFile: text('The query server’s client key (with clientCertFile).').optional(),
  },
  'TLS on the gRPC, HTTP and query-server ports (absent: plain text).',
);

const METRIC_NAME = /^[a-z_][a-z0-9_]*$/;
export const MAX_GROUP_FIELDS = 5;
export const MAX_METRICS = 100;
export const MAX_RETENTION_DAYS = 20 * 366;
const RESERVED_METRIC_PREFIXES = ['distlog_'];

const retentionDays = (() => {
  const e = expected('a retention such as 30 (days), "90d", "12w" or "5y", at most 20 years');
  const missing = {
    error: (i: { input?: unknown }) =>
      i.input === undefined ? 'required (how long to keep the metric, e.g. 400d or 5y)' : e.error(i),
  };
  return z
    .union([z.number(missing).int(e), z.string(e).regex(/^\s*(\d+)\s*(d|w|y)\s*$/, e)], missing)
    .transform((v, ctx) => {
      const days =
        typeof v === 'number'
          ? v
          : ((m) => Number(m[1]) * { d: 1, w: 7, y: 366 }[m[2] as 'd'])(/^\s*(\d+)\s*(d|w|y)\s*$/.exec(v)!);
      if (days < 1 || days > MAX_RETENTION_DAYS)
        ctx.addIssue({ code: 'custom', message: e.error({ input: v }) });
      return days;
    })
    .describe('How long rollups are kept: days, or "90d", "12w", "5y" (a year is 366 days).');
})();

const metric = mapping(
  {
    name: z
      .string({
        error: (i) => (i.input === undefined ? 'required' : expected('a non-empty string').error(i)),
      })
      .regex(METRIC_NAME, expected('a name of lower-case letters, digits and _ (e.g. checkout_latency_ms)'))
      .refine((n) => !RESERVED_METRIC_PREFIXES.some((p) => n.startsWith(p)), {
        error: (i) => `${JSON.stringify(i.input)}: names starting with "distlog_" are the collector's own`,
      })
      .describe('Metric name (Prometheus: NAME_total, …).'),
    description: text('What it measures.').default(''),
    unit: text('Unit of the value, e.g. ms.').default(''),
    match: match.optional(),
    kind: z
      .enum(['count', 'sum', 'distribution'], expected('one of count, sum, distribution'))
      .default('count')
      .describe('count records, sum a value, or keep its distribution (quantiles).'),
    value: text('The numeric attribute summed or distributed.').optional(),
    by: names(
      'Grouping fields: service.name, severity, logger, event.name, resource.KEY, or an attribute.',
    ).default([]),
    retention: retentionDays,
  },
  'A metric rolled up from the records as they arrive.',
).superRefine((m, ctx) => {
  const at = (key: string, message: string) => ctx.addIssue({ code: 'custom', path: [key], message });
  if ((m.kind === 'sum' || m.kind === 'distribution') && m.value === undefined)
    at('value', `a ${m.kind} needs the numeric attribute it reads (value: ATTRIBUTE)`);
  if (m.kind === 'count' && m.value !== undefined)
    at('value', 'a count reads no value (use kind: sum or distribution)');
  if (m.by.length > MAX_GROUP_FIELDS)
    at(
      'by',
      `at most ${MAX_GROUP_FIELDS} grouping fields (got ${m.by.length}): each one multiplies the groups stored`,
    );
  const twice = m.by.find((b, j) => m.by.indexOf(b) !== j);
  if (twice) at('by', `"${twice}" is listed twice`);
  if (m.by.includes('resource.')) at('by', '"resource." needs an attribute name');
});

/** The configuration file's schema; `env` resolves `keyEnv`/`tokenEnv` for the secrets' checks. */
export function configSchema(env: NodeJS.ProcessEnv) {
  return mapping(
    {
      receivers: mapping(
        {
          grpc: listener(DEFAULTS.receivers.grpcPort, 'OTLP/gRPC (and level control).'),
          http: mapping(
            {
              ...listenerFields(DEFAULTS.receivers.httpPort),
              cors: mapping(
                {
                  allowedOrigins: names(
                    'Origins whose pages may send OTLP/HTTP from a browser, as globs: https://app.example.com, https://*.example.com, http://localhost:*, * (any).',
                  ),
                  allowedHeaders: names(
                    'Request headers allowed besides Content-Type, Content-Encoding and Authorization.',
                  ).optional(),
                  maxAge: duration('How long a browser may keep the answer to its preflight.', {
                    maxMs: 86_400_000,
                  }).optional(),
                },
                'Browser apps (their own OpenTelemetry exporters): cross-origin requests to /v1/logs and /v1/traces.',
              ).optional(),
            },
            'OTLP/HTTP, level control, live tail, /metrics.',
          ).prefault({}),
          limits: mapping(
            {
              maxRequestBytes: size('Largest request body.').default(
                DEFAULTS.receivers.limits.maxRequestBytes,
              ),
              maxDecompressedBytes: size('Largest body once decompressed.').default(
                DEFAULTS.receivers.limits.maxDecompressedBytes,
              ),
              maxAttributeValueLength: number('Longer attribute values are cut (0: never).', {
                min: 0,
                integer: true,
              }).default(DEFAULTS.receivers.limits.maxAttributeValueLength),
              maxNestingDepth: number('How deep arrays and maps may nest in a value.', {
                min: 1,
                max: 1000,
                integer: true,
              }).default(DEFAULTS.receivers.limits.maxNestingDepth),
            },
            'What one request may hold.',
          ).prefault({}),
        },
        'Where the collector listens.',
      ).prefault({}),
      clickhouse: mapping(
        {
          url: text('HTTP interface (default: CLICKHOUSE_URL, else http://127.0.0.1:8123).').optional(),
          database: sqlName('database name', 'Database holding Distlog’s tables.').default(
            DEFAULTS.clickhouse.database,
          ),
          username: text('Default: CLICKHOUSE_USER.').optional(),
          password: z.string().optional().describe('Default: CLICKHOUSE_PASSWORD.'),
          requestTimeout: duration('Per-request timeout.').default(DEFAULTS.clickhouse.requestTimeoutMs),
          cluster: z
            .union(
              [z.literal(''), sqlName('cluster name', '')],
              expected('a cluster name of letters, digits and _'),
            )
            .optional()
            .describe('A cluster of the servers’ remote_servers ("" or absent: one server).'),
          replicated: z
            .union([z.boolean(), z.enum(['true', 'false', ''])], expected('true or false'))
            .optional()
            .describe('With a cluster: Replicated*MergeTree tables (needs {shard} and {replica} macros).'),
        },
        'The ClickHouse server (or cluster) records are stored in.',
      ).prefault({}),
      tiers: list(
        tier,
        'Retention tiers (absent with rules and default: logs 30 d, debug 3 d, longterm 400 d).',
      ).optional(),
      destinations: list(destination, 'OTLP endpoints rules forward to.').default([]),
      rules: list(rule, 'Routing rules, in order.').optional(),
      default: mapping(
        actionShape,
        'What happens to a record no rule took (default: the first tier).',
      ).optional(),
      batch: mapping(
        {
          maxRows: number('A batch is inserted at this many rows…', { min: 1, integer: true }).default(
            DEFAULTS.batch.maxRows,
          ),
          maxDelay: duration(
            "…or this long after its first row at the latest (sooner under load: when one of the table's inserts ends and the batch holds a quarter of maxRows, or when it reaches half of maxRows while fewer than maxConcurrentInserts run).",
          ).default(DEFAULTS.batch.maxDelayMs),
          maxConcurrentInserts: number(
            'Inserts in flight per table (under load, a batch of half of maxRows takes a free one; always one with the embedded store, which runs one statement at a time).',
            {
              min: 1,
              max: 64,
              integer: true,
            },
          ).default(DEFAULTS.batch.maxConcurrentInserts),
          maxQueuedBatches: number('Batches waiting before senders are told to back off (503).', {
            min: 1,
            integer: true,
          }).default(DEFAULTS.batch.maxQueuedBatches),
          resendWindow: duration('How long a request sent again is recognised as stored (0: off).').default(
            DEFAULTS.batch.resendWindowMs,
          ),
        },
        'Batching of inserts.',
      ).prefault({}),
      spool: mapping(
        {
          dir: text('Default: $DISTLOG_HOME/spool.').optional(),
          maxBytes: size('Past it, senders get 503 until ClickHouse is back.').default(
            DEFAULTS.spool.maxBytes,
          ),
        },
        'Batches acknowledged while ClickHouse is unavailable, on disk.',
      ).prefault({}),
      retention: mapping(
        {
          interval: duration('How often old partitions are dropped.').default(DEFAULTS.retention.intervalMs),
        },
        'Retention runs.',
      ).prefault({}),
      levels: mapping(
        { file: text('A levels.json from before rules lived in ClickHouse, moved there once.').optional() },
        'Run-time level rules.',
      ).prefault({}),
      auth: auth.optional(),
      tls: tls.optional(),
      metrics: list(
        metric,
        'Metrics rolled up from records (absent: records, scope_duration_ms, usage_events).',
      )
        .max(MAX_METRICS, {
          error: (i) => `at most ${MAX_METRICS} metrics (got ${(i.input as unknown[]).length})`,
        })
        .optional(),
      metricOptions: mapping(
        {
          flushInterval: duration('How often rollups are written.', {
            minMs: 100,
            maxMs: 60_000,
            what: 'a duration from 100ms to 1m, e.g. "10s"',
          }).default(DEFAULTS.metricOptions.flushIntervalMs),
          maxSeries: number('Groups per metric and flush; more are counted under "~other".', {
            min: 1,
            integer: true,
          }).default(DEFAULTS.metricOptions.maxSeries),
        },
        'Settings of every metric.',
      ).prefault({}),
    },
    'Distlog collector configuration.',
  ).superRefine(
    (raw: unknown, ctx: z.RefinementCtx) => {
      // On the file as written, whatever else is wrong with it: every problem at once.
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return;
      const file = raw as Record<string, unknown>;
      checkRouting(file, ctx);
      checkAuth(file.auth, env, ctx);
      checkTls(file.tls, ctx);
    },
    { when: () => true },
  );
}

/** What a file becomes once checked (defaults filled, durations in ms, sizes in bytes). */
export type ConfigFile = z.output<ReturnType<typeof configSchema>>;
