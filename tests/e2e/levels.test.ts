import net from 'node:net';
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import type { ClickHouse } from '@distlog/collector/storage';
import { eventually, testClickHouseUrl } from '@distlog/collector/testing';
import { PROTO_DIR } from '@distlog/collector';
import { buildApp } from '@distlog/query-ui';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { CollectorProcess } from '../support/collector-process';
import {
  DISTLOG_BIN,
  startCollectorProcess,
  collectorWithDatabase,
  stopCollectorAndDatabase,
} from '../support/collector-process';

jest.setTimeout(90_000);

let ch: ClickHouse;
let collector: CollectorProcess;

beforeAll(async () => {
  ({ ch, collector } = await collectorWithDatabase('e2e_levels'));
});

afterAll(() => stopCollectorAndDatabase(collector, ch));

/**
 * Starts the level app exporting to the test's collector — on its (non-default) ports,
 * over gRPC unless told otherwise, with no setting for level control: it follows rules
 * over the endpoint and protocol it exports to.
 */
async function startApp(
  service: string,
  env: Record<string, string> = {},
  stderr: string[] | undefined = undefined,
): Promise<ChildProcess> {
  const http = env.OTEL_EXPORTER_OTLP_PROTOCOL?.startsWith('http');
  const child = spawn(process.execPath, [path.resolve(__dirname, '../dist/fixtures/level-app.js')], {
    env: {
      ...process.env,
      OTEL_SERVICE_NAME: service,
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${http ? collector.httpPort : collector.grpcPort}`,
      OTEL_BLRP_SCHEDULE_DELAY: '200',
      ...env,
    },
    stdio: ['ignore', 'pipe', stderr ? 'pipe' : 'inherit'],
  });
  if (stderr) child.stderr!.on('data', (c: Buffer) => stderr.push(c.toString()));
  await new Promise<void>((resolve) =>
    readline.createInterface({ input: child.stdout! }).once('line', () => resolve()),
  );
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

async function levels(
  method: string,
  body?: object,
  query = '',
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${collector.httpPort}/v1/levels${query}`, {
    method,
    headers: body ? { 'Content-Type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  return {
    status: res.status,
    json: res.status === 204 ? {} : ((await res.json()) as Record<string, unknown>),
  };
}

/** Records of one logger of a service at one severity (default DEBUG), as [app-side time in ms]. */
async function debugTimes(service: string, scope: string, severityNumber = 5): Promise<number[]> {
  const rows = await ch.query<{ t: string }>(
    `SELECT TimeUnixNano AS t FROM ${ch.database}.all_logs
     WHERE ServiceName = '${service}' AND ScopeName = '${scope}' AND SeverityNumber = ${severityNumber} ORDER BY t`,
  );
  return rows.map((r) => Number(BigInt(r.t) / 1_000_000n));
}

/** Waits until the service's `scope` logger has stored an INFO line logged after `afterMs` (app-side time). */
async function infoAfter(service: string, scope: string, afterMs: number): Promise<void> {
  await eventually(async () => (await debugTimes(service, scope, 9)).some((t) => t > afterMs), 15_000);
}

describe('run-time log levels', () => {
  it('turns on DEBUG for db.* of one service for a while: within a second, only there, and off again after expiry', async () => {
    const app = await startApp('levels-a');
    try {
      // Its INFO lines from db arrive, its DEBUG lines do not (no rule yet).
      await infoAfter('levels-a', 'db', Date.now() + 500);
      expect(await debugTimes('levels-a', 'db')).toEqual([]);
      const setAt = Date.now();
      const set = await levels('POST', {
        service: 'levels-a',
        logger: 'db.*',
        level: 'debug',
        for: '4s',
        setBy: 'test',
      });
      expect(set.status).toBe(201);
      const rule = set.json.rule as { id: string; expiresAt: string };
      const first = await eventually(async () => (await debugTimes('levels-a', 'db'))[0], 10_000);
      // The record's own (app-side) time: the change reached the process within a second.
      expect(first).toBeDefined();
      // "About a second": 1 s nominal, with room for a loaded CI machine.
      expect(first! - setAt).toBeLessThan(1500);
      // After the expiry, no more DEBUG from db (the SDK reverts on its own, on time).
      // Once db's INFO lines from 1.5 s past the expiry are stored, any DEBUG of then would be too.
      await infoAfter('levels-a', 'db', Date.parse(rule.expiresAt) + 1500);
      const times = await debugTimes('levels-a', 'db');
      expect(times.length).toBeGreaterThan(10);
      expect(times.filter((t) => t > Date.parse(rule.expiresAt) + 1000)).toEqual([]);
      // Other loggers of the service stayed at INFO.
      expect(await debugTimes('levels-a', 'app')).toEqual([]);
      expect(await debugTimes('levels-a', 'cache')).toEqual([]);
      // The process said so, and the collector kept an audit trail.
      const notes = await ch.query<{ Body: string }>(
        `SELECT Body FROM ${ch.database}.all_logs WHERE ServiceName = 'levels-a' AND EventName = 'distlog.level.changed' ORDER BY TimeUnixNano`,
      );
      expect(notes.map((n) => n.Body)).toEqual([
        expect.stringMatching(
          new RegExp(
            `^log levels changed: db info → debug \\(rule ${rule.id}: levels-a / db\\.\\* → debug until `,
          ),
        ),
        'log levels changed: db debug → info (no rule: local levels)',
      ]);
      const audit = await ch.query<{ EventName: string }>(
        `SELECT EventName FROM ${ch.database}.all_logs WHERE ServiceName = 'distlog-collector'
           AND has(LogAttributes.value, '${rule.id}') ORDER BY TimeUnixNano`,
      );
      expect(audit.map((a) => a.EventName)).toEqual(['distlog.level.set', 'distlog.level.expired']);
    } finally {
      await stop(app);
    }
  });

  it('lists rules and each process’s effective levels; refuses bad rules without changing anything', async () => {
    const app = await startApp('levels-b');
    try {
      expect((await levels('POST', { service: 'levels-b', logger: 'cache', level: 'loud' })).json).toEqual({
        error: 'level: expected one of trace, debug, info, warn, error, fatal, silent, got "loud"',
      });
      expect((await levels('POST', { service: 'levels-b', logger: '', level: 'debug' })).json).toEqual({
        error: 'logger: must not be empty (use "*" for all loggers)',
      });
      const past = await levels('POST', {
        service: 'levels-b',
        logger: 'cache',
        level: 'debug',
        expiresAt: '2020-01-01T00:00:00Z',
      });
      expect(past).toEqual({
        status: 400,
        json: { error: 'expiresAt: 2020-01-01T00:00:00Z is in the past' },
      });
      expect(
        ((await levels('GET')).json.rules as unknown[]).filter(
          (r) => (r as { service: string }).service === 'levels-b',
        ),
      ).toEqual([]);

      await levels('POST', { service: 'levels-b', logger: 'cache', level: 'warn', setBy: 'test' });
      const listed = await eventually(async () => {
        const { json } = await levels('GET');
        const instance = (
          json.instances as Array<{
            service: string;
            loggers: Record<string, { level: string; configured: string }>;
          }>
        ).find((i) => i.service === 'levels-b' && i.loggers.cache?.level === 'warn');
        return instance;
      }, 5_000);
      expect(listed!.loggers).toMatchObject({
        app: { level: 'info', configured: 'info' },
        db: { level: 'info', configured: 'info' },
        cache: { level: 'warn', configured: 'info' },
      });
      const cleared = await levels('DELETE', undefined, '?service=levels-b&logger=cache&by=test');
      expect((cleared.json.removed as unknown[]).length).toBe(1);
    } finally {
      await stop(app);
    }
  });

  it('keeps a rule across a collector restart, and the process follows it again', async () => {
    const app = await startApp('levels-c');
    try {
      await levels('POST', {
        service: 'levels-c',
        logger: 'cache',
        level: 'debug',
        for: '10m',
        setBy: 'test',
      });
      await eventually(async () => (await debugTimes('levels-c', 'cache')).length > 0, 10_000);
      const { home, grpcPort, httpPort } = collector;
      await collector.stop();
      collector = await startCollectorProcess(testClickHouseUrl(), ch.database, { home, grpcPort, httpPort });
      const rules = (await levels('GET')).json.rules as Array<{
        service: string;
        logger: string;
        level: string;
      }>;
      expect(rules).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ service: 'levels-c', logger: 'cache', level: 'debug' }),
        ]),
      );
      const restartedAt = Date.now();
      const after = await eventually(
        async () => (await debugTimes('levels-c', 'cache')).find((t) => t > restartedAt + 500),
        20_000,
      );
      expect(after).toBeDefined();
      await levels('DELETE', undefined, '?service=levels-c');
    } finally {
      await stop(app);
    }
  });
});

describe('`distlog level` through the query API', () => {
  it('sets, lists (rules and effective levels per process) and clears; bad input changes nothing', async () => {
    const app = await startApp('levels-d');
    const api = await buildApp({ ch, collectorUrl: `http://127.0.0.1:${collector.httpPort}` });
    await api.listen({ port: 0, host: '127.0.0.1' });
    const address = api.server.address();
    const env = {
      ...process.env,
      DISTLOG_API: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    };
    const distlog = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [DISTLOG_BIN, ...args], { env });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c) => (stdout += c));
        child.stderr.on('data', (c) => (stderr += c));
        child.on('exit', (code) => resolve({ code, stdout, stderr }));
      });
    try {
      const set = await distlog([
        'level',
        'set',
        '--service',
        'levels-d',
        '--logger',
        'db.*',
        'debug',
        '--for',
        '15m',
        '--by',
        'tester',
      ]);
      expect(set.code).toBe(0);
      expect(set.stdout).toMatch(/^rule \w+: levels-d \/ db\.\* → debug until \d{4}-/);
      expect(set.stderr).toBe('');
      // A rule that reaches nothing now is set, and said to reach nothing: a mistyped service…
      const typo = await distlog(['level', 'set', '--service', 'levels-dd', 'debug', '--for', '1m']);
      expect(typo.code).toBe(0);
      expect(typo.stderr).toMatch(
        /no connected process of service "levels-dd" follows level rules now \(connected services: [^)]*levels-d/,
      );
      // …or a logger the service's processes do not have.
      const noLogger = await distlog([
        'level',
        'set',
        '--service',
        'levels-d',
        '--logger',
        'dbx',
        'debug',
        '--for',
        '1m',
      ]);
      expect(noLogger.stderr).toMatch(
        /no logger of "levels-d" matches "dbx" now \(they have: [^)]*\bcache\b[^)]*\bdb\b/,
      );
      await distlog(['level', 'clear', '--service', 'levels-dd']);
      await distlog(['level', 'clear', '--service', 'levels-d', '--logger', 'dbx']);
      const bad = await distlog(['level', 'set', '--service', 'levels-d', '--logger', 'cache', 'loud']);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain(
        'level: expected one of trace, debug, info, warn, error, fatal, silent, got "loud"',
      );
      // --on-error: held until a request fails; only for debug/trace, said plainly otherwise.
      const held = await distlog(['level', 'set', '--service', 'levels-x', 'debug', '--on-error']);
      expect(held.stdout).toMatch(
        /^rule \w+: levels-x \/ \* → debug, held and sent only when a request fails/,
      );
      const heldInfo = await distlog(['level', 'set', '--service', 'levels-x', 'info', '--on-error']);
      expect(heldInfo.code).toBe(1);
      expect(heldInfo.stderr).toContain('onError: holds DEBUG/TRACE records until a trace fails');
      expect((await distlog(['level', 'list'])).stdout).toMatch(/levels-x \/ \* → debug ON ERROR/);
      await distlog(['level', 'clear', '--service', 'levels-x']);
      const list = await eventually(async () => {
        const r = await distlog(['level', 'list']);
        return /levels-d .*\n(?:.*\n)*? {4}db +debug +configured info +by rule/.test(r.stdout)
          ? r
          : undefined;
      }, 5_000);
      expect(list!.stdout).toMatch(/^ {2}\w+ {2}levels-d \/ db\.\* → debug {2}until .* \(set by tester at /m);
      expect(list!.stdout).toMatch(/^ {4}cache +info +configured info$/m);
      const clear = await distlog(['level', 'clear', '--service', 'levels-d', '--logger', 'db.*']);
      expect(clear.stdout).toBe('cleared 1 rule\n');
      expect((await distlog(['level', 'clear'])).code).toBe(2);
    } finally {
      await api.close();
      await stop(app);
    }
  });
});

describe('level control with no setting, whatever the endpoint', () => {
  it.each(['grpc', 'http/protobuf', 'http/json'])(
    'an app exporting %s to non-default ports follows a rule and is listed with its loggers',
    async (protocol) => {
      const service = `levels-${protocol.replace('/', '-')}`;
      const stderr: string[] = [];
      const app = await startApp(service, { OTEL_EXPORTER_OTLP_PROTOCOL: protocol }, stderr);
      try {
        await levels('POST', { service, logger: 'db', level: 'debug', for: '1m', setBy: 'test' });
        const listed = await eventually(async () => {
          const { json } = await levels('GET');
          const mine = (
            json.instances as Array<{ service: string; connected: boolean; loggers: object }>
          ).find((i) => i.service === service);
          return mine && (mine.loggers as Record<string, { level: string }>).db?.level === 'debug'
            ? mine
            : undefined;
        });
        expect(listed).toMatchObject({
          connected: true,
          loggers: { db: { level: 'debug', rule: expect.any(String) } },
        });
        expect(await eventually(async () => (await debugTimes(service, 'db')).length > 0)).toBe(true);
        expect(stderr.join('')).toBe('');
      } finally {
        await stop(app);
        await levels('DELETE', undefined, `?service=${service}`);
      }
    },
  );

  it('an app that cannot subscribe says so once on stderr and is listed as not connected', async () => {
    const stderr: string[] = [];
    // A control endpoint that cuts every connection, counting the attempts.
    let attempts = 0;
    const cutter = net.createServer((socket) => {
      attempts++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => cutter.listen(0, '127.0.0.1', resolve));
    const dead = `http://127.0.0.1:${(cutter.address() as net.AddressInfo).port}`;
    const app = await startApp('levels-unreachable', { DISTLOG_CONTROL_ENDPOINT: dead }, stderr);
    try {
      const listed = await eventually(async () => {
        const { json } = await levels('GET');
        return (json.instances as Array<{ service: string; connected: boolean }>).find(
          (i) => i.service === 'levels-unreachable',
        );
      });
      expect(listed).toMatchObject({ connected: false, lastSeenAt: expect.any(String) });
      // Retries go on (backoff), the line is not repeated.
      await eventually(async () => attempts >= 3, 20_000);
      const lines = stderr.join('').split('\n').filter(Boolean);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        new RegExp(
          `^distlog: level control cannot subscribe at ${dead} \\(HTTP\\) \\(.+\\); local levels in force`,
        ),
      );
    } finally {
      cutter.close();
      await stop(app);
    }
  });

  it('an app exporting over gRPC to an endpoint without LevelControl is told so, once', async () => {
    // A gRPC server that serves OTLP logs only (as another vendor's collector would).
    const server = new grpc.Server();
    server.addService(
      grpc.makeGenericClientConstructor(
        protoLoader.loadSync('opentelemetry/proto/collector/logs/v1/logs_service.proto', {
          includeDirs: [PROTO_DIR],
        })['opentelemetry.proto.collector.logs.v1.LogsService'] as grpc.ServiceDefinition,
        'LogsService',
      ).service,
      { Export: (_call: unknown, cb: (e: null, r: object) => void) => cb(null, {}) },
    );
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    const stderr: string[] = [];
    const app = await startApp(
      'levels-foreign',
      { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` },
      stderr,
    );
    try {
      const said = await eventually(
        async () => (stderr.join('').includes('\n') ? stderr.join('') : undefined),
        5000,
      );
      expect(said).toMatch(
        new RegExp(
          `^distlog: http://127\\.0\\.0\\.1:${port} \\(gRPC\\) does not offer Distlog level control \\(gRPC status 12`,
        ),
      );
    } finally {
      await stop(app);
      server.forceShutdown();
    }
  });
});

describe('LevelControl over gRPC (for processes that speak gRPC)', () => {
  it('streams the rules of a service at once and again on every change', async () => {
    const definition = protoLoader.loadSync('distlog/v1/control.proto', {
      includeDirs: [PROTO_DIR],
      longs: String,
      defaults: true,
    });
    const Client = grpc.makeGenericClientConstructor(
      definition['distlog.v1.LevelControl'] as grpc.ServiceDefinition,
      'LevelControl',
    );
    const client = new Client(`127.0.0.1:${collector.grpcPort}`, grpc.credentials.createInsecure());
    const received: Array<
      Array<{ service: string; logger: string; level: string; expiresAtUnixNano: string }>
    > = [];
    const call = (
      client as unknown as { Subscribe: (req: object) => grpc.ClientReadableStream<{ rules: never[] }> }
    ).Subscribe({
      service: 'levels-g',
      instance: 'grpc-test',
      loggers: ['db'],
    });
    call.on('data', (msg: { rules: never[] }) => received.push(msg.rules));
    call.on('error', () => undefined);
    try {
      await eventually(async () => received.length === 1, 5_000);
      expect(received[0]).toEqual([]);
      await levels('POST', { service: 'levels-g', logger: 'db', level: 'trace', for: '1m', setBy: 'test' });
      await levels('POST', { service: 'somebody-else', logger: 'db', level: 'trace', setBy: 'test' });
      await eventually(async () => received.some((rules) => rules.length === 1), 5_000);
      const update = received.find((rules) => rules.length === 1)!;
      expect(update[0]).toMatchObject({ service: 'levels-g', logger: 'db', level: 'trace' });
      expect(BigInt(update[0].expiresAtUnixNano)).toBeGreaterThan(BigInt(Date.now()) * 1_000_000n);
      // Rules of other services are not sent to this one.
      expect(received.flat().some((r) => r.service === 'somebody-else')).toBe(false);
    } finally {
      call.cancel();
      client.close();
      await levels('DELETE', undefined, '?logger=db');
    }
  });
});
