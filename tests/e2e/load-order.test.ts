import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { eventually } from '@distlog/collector/testing';
import { collectorForFile, runFixture, runFixtureOutput, setLevelRule } from '../support/collector-process';

/**
 * pino and init() in either order (issue 13): an ES module's static `import pino` always
 * runs before the app's `init()`, and CommonJS apps often require pino first too. Every
 * order must give trace context, level control and the transport's fast path — loggers created after init() and
 * before it — with no `-r`/`--import` flag.
 */
const started = collectorForFile('e2e_load_order');

type Case = {
  modules: 'cjs' | 'esm';
  pino: 'before init' | 'after init';
  logger: 'before init' | 'after init';
};

/** The app, written as a user would for that order. */
function appSource({ modules, pino, logger }: Case): string {
  const esm = modules === 'esm';
  const loadPino = esm ? `import pino from 'pino';` : `const pino = require('pino');`;
  const loadPinoLate = esm
    ? `const { default: pino } = await import('pino');`
    : `const pino = require('pino');`;
  const make = `pino({ name: 'lo', level: 'info', transport: { target: '@distlog/sdk/pino' } })`;
  return [
    pino === 'before init' ? loadPino : '',
    esm
      ? `import { init, scope, getDistlog } from '@distlog/sdk';\nimport { trace } from '@opentelemetry/api';`
      : `const { init, scope, getDistlog } = require('@distlog/sdk');\nconst { trace } = require('@opentelemetry/api');`,
    esm ? '' : 'async function main() {',
    logger === 'before init' ? `const early = ${make};` : 'const early = undefined;',
    'init();',
    pino === 'after init' ? loadPinoLate : '',
    `const logger = early ?? ${make};`,
    `const child = logger.child({ name: 'lo.child' });`,
    // The rule set before the app started reaches both loggers (level control), then they log DEBUG in a scope.
    'const deadline = Date.now() + 10000;',
    `const levels = () => getDistlog().levels();`,
    `while ((levels()['lo']?.level !== 'debug' || levels()['lo.child']?.level !== 'debug') && Date.now() < deadline)`,
    '  await new Promise((r) => setTimeout(r, 50));',
    // The transport's fast path (gathered writes, sticky context) reaches every logger whose stream only Distlog's transport reads.
    `const stream = logger[Object.getOwnPropertySymbols(logger).find((s) => s.description === 'pino.stream')];`,
    `while (!stream[Symbol.for('distlog.coalesced')] && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));`,
    'const tag = process.env.FIXTURE_TAG;',
    `const ids = await scope('request', {}, async () => {`,
    `  logger.debug(tag + ' root');`,
    `  child.debug(tag + ' child');`,
    '  return trace.getActiveSpan().spanContext();',
    '});',
    `process.stdout.write(JSON.stringify({ traceId: ids.traceId, spanId: ids.spanId, levels: JSON.stringify(levels()), fast: String(!!stream[Symbol.for('distlog.coalesced')]) }) + '\\n');`,
    esm ? '' : '}\nvoid main();',
  ].join('\n');
}

const cases: Case[] = [];
for (const modules of ['cjs', 'esm'] as const)
  for (const pino of ['before init', 'after init'] as const)
    for (const logger of ['before init', 'after init'] as const)
      if (!(pino === 'after init' && logger === 'before init')) cases.push({ modules, pino, logger });

describe('pino and init() in any order', () => {
  it.each(cases)('%o: trace context and level control', async (c) => {
    const service = `load-order-${randomUUID().slice(0, 8)}`;
    const tag = randomUUID();
    const file = `load-order-${c.modules}-${c.pino === 'before init' ? 'p0' : 'p1'}-${c.logger === 'before init' ? 'l0' : 'l1'}.${c.modules === 'esm' ? 'mjs' : 'cjs'}`;
    // Written next to the built fixtures so that its imports resolve from this package.
    writeFileSync(path.resolve(__dirname, '../dist/fixtures', file), appSource(c));
    await setLevelRule(started.collector, { service, logger: 'lo.*', level: 'debug' });
    const [ids] = await runFixture(file, {
      FIXTURE_TAG: tag,
      OTEL_SERVICE_NAME: service,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${started.collector.httpPort}`,
    });
    expect(ids.fast).toBe('true');
    expect(JSON.parse(ids.levels)).toMatchObject({
      lo: { level: 'debug', configured: 'info' },
      'lo.child': { level: 'debug', configured: 'info' },
    });
    const rows = await eventually(async () => {
      const found = await started.ch.query<{
        Body: string;
        ScopeName: string;
        TraceId: string;
        SpanId: string;
      }>(
        `SELECT Body, ScopeName, TraceId, SpanId FROM ${started.ch.database}.all_logs
         WHERE ServiceName = '${service}' AND Body LIKE '${tag}%' ORDER BY Body DESC`,
      );
      return found.length === 2 ? found : undefined;
    });
    expect(rows).toEqual([
      { Body: `${tag} root`, ScopeName: 'lo', TraceId: ids.traceId, SpanId: ids.spanId },
      { Body: `${tag} child`, ScopeName: 'lo.child', TraceId: ids.traceId, SpanId: ids.spanId },
    ]);
  });
});

describe('-r @distlog/sdk/register and init() in the code', () => {
  const app = path.resolve(__dirname, '../dist/fixtures', 'register-and-init.cjs');
  const run = (source: string, env: Record<string, string>) => {
    writeFileSync(app, source);
    return runFixtureOutput(
      app,
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${started.collector.grpcPort}`,
        ...env,
      },
      ['-r', '@distlog/sdk/register'],
    );
  };
  const source = (options: string) =>
    `const { init, getDistlog, shutdown } = require('@distlog/sdk');\n` +
    `init(${options});\n` +
    `process.stdout.write(JSON.stringify({ service: String(getDistlog().resource.attributes['service.name']) }) + '\\n');\n` +
    'void shutdown();\n';

  it("says that init()'s own options come too late, and what to do", async () => {
    const { lines, stderr } = await run(source(`{ serviceName: 'from-code' }`), {});
    // The flag started Distlog first: the code's service name is not the one in use.
    expect(lines[0].service).toMatch(/^unknown_service:/);
    expect(stderr).toContain(
      'distlog: init() was called again, with serviceName "from-code", but Distlog was started already by ' +
        `-r/--import @distlog/sdk/register and keeps its settings (service "${lines[0].service}"). ` +
        'With -r/--import @distlog/sdk/register, set OTEL_SERVICE_NAME',
    );
  });

  it('says nothing where the two agree (the name from OTEL_SERVICE_NAME, init() without options)', async () => {
    const { lines, stderr } = await run(source(''), { OTEL_SERVICE_NAME: 'from-env' });
    expect(lines[0].service).toBe('from-env');
    expect(stderr).not.toContain('init() was called again');
  });
});

describe('-r @distlog/sdk/register with pino transports (the README’s start)', () => {
  // pino's transport worker inherits the app's -r flag: Distlog must start there only as the
  // transport, not a second time with level control under the app's instance id.
  const transports = {
    'one target': `{ target: '@distlog/sdk/pino' }`,
    'targets, with a file beside it': `{ targets: [{ target: 'pino/file', options: { destination: require('os').devNull } }, { target: '@distlog/sdk/pino' }] }`,
  };
  it.each(Object.entries(transports))(
    '%s: nothing said on stderr, and level control lists the app’s logger',
    async (_name, transport) => {
      const service = `register-transport-${randomUUID().slice(0, 8)}`;
      const levelsUrl = `http://127.0.0.1:${started.collector.httpPort}/v1/levels`;
      const file = path.resolve(__dirname, '../dist/fixtures', 'register-transport.cjs');
      writeFileSync(
        file,
        [
          `const pino = require('pino');`,
          `const logger = pino({ name: 'tr', transport: ${transport} });`,
          `logger.info('hello from ' + process.env.OTEL_SERVICE_NAME);`,
          // What the collector lists for this process, once it has stayed the same for 1.5 s.
          'async function main() {',
          '  const deadline = Date.now() + 15000;',
          '  let last, since = Date.now();',
          '  while (Date.now() < deadline) {',
          `    const { instances } = await (await fetch(${JSON.stringify(levelsUrl)})).json();`,
          '    const mine = instances.find((i) => i.service === process.env.OTEL_SERVICE_NAME);',
          '    const now = JSON.stringify(mine ? Object.keys(mine.loggers).sort() : null);',
          '    if (now !== last) { last = now; since = Date.now(); }',
          "    else if (now.includes('tr') && Date.now() - since > 1500) break;",
          '    await new Promise((r) => setTimeout(r, 100));',
          '  }',
          // The logger lives as long as the app uses it (level control holds loggers weakly).
          "  logger.info('done');",
          "  process.stdout.write(JSON.stringify({ loggers: last }) + '\\n');",
          '  process.exit(0);',
          '}',
          'void main();',
        ].join('\n'),
      );
      const { lines, stderr } = await runFixtureOutput(
        file,
        {
          OTEL_SERVICE_NAME: service,
          OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${started.collector.grpcPort}`,
        },
        ['-r', '@distlog/sdk/register'],
      );
      expect(stderr).toBe('');
      expect(JSON.parse(lines[0].loggers)).toContain('tr');
      await eventually(async () => {
        const [{ n }] = await started.ch.query<{ n: string }>(
          `SELECT count() AS n FROM ${started.ch.database}.all_logs WHERE ServiceName = '${service}' AND ScopeName = 'tr'`,
        );
        return Number(n) === 2;
      });
    },
  );
});
