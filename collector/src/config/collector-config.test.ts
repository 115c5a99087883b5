import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_CONFIG_FILE, loadConfigFile, parseConfig } from './collector-config';
import { ConfigErrors } from './schema-kit';

const env = { CLICKHOUSE_URL: 'http://ch:8123', DISTLOG_HOME: '/var/lib/distlog' };

function problems(yaml: string): string[] {
  try {
    parseConfig(yaml, 'test.yaml', env);
  } catch (err) {
    if (err instanceof ConfigErrors) return err.problems;
    throw err;
  }
  throw new Error('expected the configuration to be refused');
}

describe('collector configuration', () => {
  it('the shipped default: three tiers, usage/performance to longterm, DEBUG/TRACE to debug, the rest to logs', () => {
    const config = loadConfigFile(DEFAULT_CONFIG_FILE, env);
    expect(config.tiers).toEqual([
      { name: 'logs', table: 'logs', retentionDays: 30 },
      { name: 'debug', table: 'debug', retentionDays: 3 },
      { name: 'longterm', table: 'longterm', retentionDays: 400 },
    ]);
    expect(config.rules.map((r) => [r.name, r.action.store])).toEqual([
      ['request-scopes', 'logs'],
      ['request-scopes-semconv', 'logs'],
      ['rpc-scopes', 'logs'],
      ['operation-spans', 'logs'],
      ['usage-and-performance-events', 'longterm'],
      ['marked-usage-and-performance', 'longterm'],
      ['debug-and-trace', 'debug'],
    ]);
    expect(config.defaultAction).toEqual({
      store: 'logs',
      forward: undefined,
      drop: false,
      sample: undefined,
    });
    expect(config.clickhouse.url).toBe('http://ch:8123');
    expect(config.spool).toEqual({ dir: '/var/lib/distlog/spool', maxBytes: 1024 ** 3 });
    expect(config.batch.maxDelayMs).toBe(200);
    expect(config.receivers.limits.maxRequestBytes).toBe(16 * 1024 * 1024);
  });

  it('has one default per setting: an empty file configures exactly what the shipped default.yaml writes out', () => {
    const shipped = loadConfigFile(DEFAULT_CONFIG_FILE, env);
    for (const empty of ['', '{}', '# nothing\n']) {
      expect({ ...parseConfig(empty, 'empty.yaml', env), source: 'x' }).toEqual({ ...shipped, source: 'x' });
    }
    // …and default.yaml writes every value out, rather than leaving it to the code.
    const written = parseYaml(readFileSync(DEFAULT_CONFIG_FILE, 'utf8')) as Record<
      string,
      Record<string, unknown>
    >;
    const leaves = (o: unknown, at = ''): string[] =>
      o && typeof o === 'object' && !Array.isArray(o)
        ? Object.entries(o).flatMap(([k, v]) => leaves(v, at ? `${at}.${k}` : k))
        : [at];
    expect(leaves(written).sort()).toEqual(
      [
        'receivers.grpc.host',
        'receivers.grpc.port',
        'receivers.http.host',
        'receivers.http.port',
        'receivers.limits.maxRequestBytes',
        'receivers.limits.maxDecompressedBytes',
        'receivers.limits.maxAttributeValueLength',
        'receivers.limits.maxNestingDepth',
        'clickhouse.url',
        'clickhouse.database',
        'clickhouse.requestTimeout',
        'tiers',
        'destinations',
        'rules',
        'default.store',
        'batch.maxRows',
        'batch.maxDelay',
        'batch.maxConcurrentInserts',
        'batch.maxQueuedBatches',
        'batch.resendWindow',
        'spool.maxBytes',
        'retention.interval',
        'metrics',
        'metricOptions.flushInterval',
        'metricOptions.maxSeries',
      ].sort(),
    );
  });

  it('declares metrics as data: defaults when the file is silent, none with an empty list, each problem named', () => {
    expect(parseConfig('', 'x.yaml', env).metrics.map((m) => m.name)).toEqual([
      'records',
      'scope_duration_ms',
      'usage_events',
    ]);
    expect(parseConfig('metrics: []', 'x.yaml', env).metrics).toEqual([]);
    const config = parseConfig(
      `metrics:
  - name: checkout_latency_ms
    match: { service: orders, attributes: { scope.name: checkout } }
    kind: distribution
    value: scope.duration_ms
    by: [service.name, http.route]
    retention: 5y`,
      'x.yaml',
      env,
    );
    expect(config.metrics[0]).toMatchObject({
      name: 'checkout_latency_ms',
      kind: 'distribution',
      value: 'scope.duration_ms',
      by: ['service.name', 'http.route'],
      retentionDays: 5 * 366,
    });
    const found = problems(`
metrics:
  - { name: a, kind: histogram, retention: 30 }
  - { name: b, kind: sum, retention: 30 }
  - { name: c, kind: count, value: x, retention: 30 }
  - { name: d, by: [a, b, c, d, e, f], retention: 30 }
  - { name: distlog_records, retention: 30 }
  - { name: Bad-Name, retention: 30 }
  - { name: e, retention: forever }
  - { name: f }
  - { name: g, by: [x, x], retention: 1y, match: { colour: red } }
  - { name: g, retention: 1 }
metricOptions: { flushInterval: 1h }
`);
    expect(found).toEqual(
      expect.arrayContaining([
        'metrics[0].kind: expected one of count, sum, distribution, got "histogram"',
        'metrics[1].value: a sum needs the numeric attribute it reads (value: ATTRIBUTE)',
        'metrics[2].value: a count reads no value (use kind: sum or distribution)',
        'metrics[3].by: at most 5 grouping fields (got 6): each one multiplies the groups stored',
        `metrics[4].name: "distlog_records": names starting with "distlog_" are the collector's own`,
        'metrics[5].name: expected a name of lower-case letters, digits and _ (e.g. checkout_latency_ms), got "Bad-Name"',
        'metrics[6].retention: expected a retention such as 30 (days), "90d", "12w" or "5y", at most 20 years, got "forever"',
        'metrics[7].retention: required (how long to keep the metric, e.g. 400d or 5y)',
        'metrics[8].by: "x" is listed twice',
        'metrics[8].match.colour: unknown key (allowed: service, severity, scope, eventName, attributes, body)',
        'metrics[9].name: metric "g" is defined twice',
        'metricOptions.flushInterval: expected a duration from 100ms to 1m, e.g. "10s", got "1h"',
      ]),
    );
  });

  it('takes only the routing a file declares: its own tiers start with no rules', () => {
    const config = parseConfig('tiers: [{ name: main, retentionDays: 7 }]', 'x.yaml', env);
    expect(config.tiers).toEqual([{ name: 'main', table: 'main', retentionDays: 7 }]);
    expect(config.rules).toEqual([]);
    expect(config.defaultAction.store).toBe('main');
  });

  it('reports every problem at once, each with its key path and what was expected', () => {
    const found = problems(`
receivers:
  grpc: { port: 99999 }
  limits: { maxRequestBytes: lots }
tiers:
  - { name: logs, retentionDays: 0 }
  - { name: logs, retentionDays: 3 }
  - { name: x, table: "bad-name", retentionDays: 1 }
rules:
  - name: r1
    match: { severity: { atLeast: LOUD }, body: { pattern: "(" } }
    store: nowhere
  - name: r2
    match: { colour: red }
    drop: true
    store: logs
  - name: default
    forward: nobody
batch: { maxDelay: soon }
unknownTop: 1
`);
    expect(found).toEqual(
      expect.arrayContaining([
        'unknownTop: unknown key (allowed: receivers, clickhouse, tiers, destinations, rules, default, batch, spool, retention, levels, auth, tls, metrics, metricOptions)',
        'receivers.grpc.port: expected a whole number ≥ 0 and ≤ 65535, got number 99999',
        'receivers.limits.maxRequestBytes: expected a size such as 1048576, "512KiB", "16MiB" or "1GiB", got "lots"',
        'tiers[0].retentionDays: expected a whole number ≥ 1, got number 0',
        'tiers[1].name: tier "logs" is defined twice',
        'tiers[2].table: expected a table name of letters, digits and _, got "bad-name"',
        'rules[0].match.severity.atLeast: expected a severity name (TRACE, DEBUG, INFO, WARN, ERROR, FATAL, or e.g. INFO2) or number 1-24, got "LOUD"',
        expect.stringMatching(/^rules\[0\]\.match\.body\.pattern: invalid regular expression: /),
        'rules[0].store: unknown tier "nowhere" (tiers: logs, logs, x)',
        'rules[1].match.colour: unknown key (allowed: service, severity, scope, eventName, attributes, body)',
        'rules[1]: `drop` and `reject` cannot be combined with store or forward',
        'rules[2].name: "default" is reserved',
        'rules[2].forward: unknown destination "nobody" (destinations: none)',
        'batch.maxDelay: expected a duration such as 500 (ms), "200ms", "5s", "15m", "2h" or "3d", got "soon"',
      ]),
    );
  });

  it('names the file in the error message', () => {
    expect(() => parseConfig('tiers: 3', 'conf/collector.yaml', env)).toThrow(
      /^conf\/collector\.yaml: 1 problem:\n {2}- tiers: expected a list, got number 3$/,
    );
    expect(() => loadConfigFile('/nonexistent/x.yaml', env)).toThrow(
      /^\/nonexistent\/x\.yaml: 1 problem:\n {2}- cannot read the file/,
    );
  });

  it('substitutes ${VAR} and ${VAR:-default}, and says which variable is missing', () => {
    const config = parseConfig('clickhouse: { url: "${CH}", database: "${DB:-fallback}" }', 'x.yaml', {
      CH: 'http://h:1',
    });
    expect(config.clickhouse).toMatchObject({ url: 'http://h:1', database: 'fallback' });
    expect(() => parseConfig('clickhouse: { url: "${NOPE}" }', 'x.yaml', {})).toThrow(
      'clickhouse.url: environment variable NOPE is not set (write ${NOPE:-default} for a fallback)',
    );
  });
});

describe('auth and tls configuration', () => {
  const secret = 'a-long-enough-secret-0123456789';
  const authEnv = { ...env, KEY_A: secret, KEY_SHORT: 'short', KEY_SAME: secret };

  it('reads keys and tokens from the environment, with their limits and roles', () => {
    const config = parseConfig(
      `auth:
  ingestKeys: [{ name: a, keyEnv: KEY_A, tenant: t1, services: [svc] }]
  users: [{ name: u, tokenEnv: KEY_A_TOKEN, role: reader }]`,
      'x.yaml',
      { ...authEnv, KEY_A_TOKEN: 'another-long-enough-token-42' },
    );
    expect(config.auth.ingestKeys).toEqual([{ name: 'a', secret, tenant: 't1', services: ['svc'] }]);
    expect(config.auth.users).toEqual([
      { name: 'u', secret: 'another-long-enough-token-42', role: 'reader' },
    ]);
    expect(parseConfig('{}', 'x.yaml', env).auth).toEqual({ ingestKeys: [], users: [] });
  });

  it('reads the session keys (newest first) for signing web UI sessions', () => {
    const config = parseConfig(
      `auth:
  users: [{ name: u, tokenEnv: KEY_A, role: admin }]
  sessionKeys:
    - { name: current, keyEnv: SESSION_NEW }
    - { name: previous, keyEnv: SESSION_OLD }`,
      'x.yaml',
      { ...authEnv, SESSION_NEW: 'new-session-key-0123456789', SESSION_OLD: 'old-session-key-0123456789' },
    );
    expect(config.auth.sessionKeys).toEqual(['new-session-key-0123456789', 'old-session-key-0123456789']);
    let problems: string[] = [];
    try {
      parseConfig(`auth: { sessionKeys: [{ name: k, keyEnv: KEY_SHORT }, { name: j }] }`, 'x.yaml', authEnv);
    } catch (err) {
      problems = (err as ConfigErrors).problems;
    }
    expect(problems).toEqual([
      'auth.sessionKeys[0]: the key is shorter than 16 characters',
      "auth.sessionKeys[1]: give exactly one of keyEnv (an environment variable's name) or keyFile",
    ]);
  });

  it('names every mistake without ever quoting a secret', () => {
    let found: string[] = [];
    try {
      parseConfig(
        `auth:
  ingestKeys:
    - { name: a, keyEnv: KEY_A }
    - { name: b, keyEnv: KEY_SHORT }
    - { name: c, keyEnv: KEY_MISSING }
    - { name: d, keyEnv: KEY_A, keyFile: /x }
    - { name: e, keyEnv: KEY_SAME, services: [] }
    - { name: a, keyFile: /nonexistent/key }
  users: [{ name: u, tokenEnv: KEY_A, role: root }]
tls: { certFile: /nonexistent/cert.pem }`,
        'x.yaml',
        authEnv,
      );
    } catch (err) {
      found = (err as ConfigErrors).problems;
    }
    expect(found).toEqual(
      expect.arrayContaining([
        'auth.ingestKeys[1]: the key is shorter than 16 characters',
        'auth.ingestKeys[2].keyEnv: environment variable KEY_MISSING is not set',
        "auth.ingestKeys[3]: give exactly one of keyEnv (an environment variable's name) or keyFile",
        'auth.ingestKeys[4]: has the same secret as a',
        'auth.ingestKeys[4].services: expected a non-empty list of service names, got a list',
        'auth.ingestKeys[5].name: "a" is used twice',
        'auth.ingestKeys[5].keyFile: cannot read /nonexistent/key: ENOENT',
        'auth.users[0].role: expected reader or admin, got "root"',
        'tls: needs certFile and keyFile (PEM)',
      ]),
    );
    for (const p of found) {
      expect(p).not.toContain(secret);
      expect(p).not.toContain("short'");
    }
  });

  it('mutual TLS: reads the client CA, and the query server’s certificate and key only as a pair', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'distlog-tls-'));
    for (const f of ['cert.pem', 'key.pem', 'client-ca.pem', 'ui.pem', 'ui.key'])
      writeFileSync(path.join(dir, f), f);
    const at = (f: string) => path.join(dir, f);
    const config = parseConfig(
      `tls: { certFile: ${at('cert.pem')}, keyFile: ${at('key.pem')}, clientCaFile: ${at('client-ca.pem')}, clientCertFile: ${at('ui.pem')}, clientKeyFile: ${at('ui.key')} }`,
      'x.yaml',
      env,
    );
    expect([config.tls?.clientCa, config.tls?.clientCert, config.tls?.clientKey].map(String)).toEqual([
      'client-ca.pem',
      'ui.pem',
      'ui.key',
    ]);
    expect(() =>
      parseConfig(
        `tls: { certFile: ${at('cert.pem')}, keyFile: ${at('key.pem')}, clientCertFile: ${at('ui.pem')}, clientCaFile: /nonexistent/ca.pem }`,
        'x.yaml',
        env,
      ),
    ).toThrow(
      expect.objectContaining({
        problems: expect.arrayContaining([
          'tls.clientCaFile: cannot read /nonexistent/ca.pem: ENOENT',
          'tls: clientCertFile and clientKeyFile go together (the query server’s client certificate)',
        ]),
      }),
    );
  });
});
