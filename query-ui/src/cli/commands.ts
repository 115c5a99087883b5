import { parseArgs } from 'node:util';
import { ClickHouse, applySchema, startCollector, DEFAULT_TIERS } from '@distlog/collector';
import { COMMON_OPTIONS, commonSettings, UsageError } from './settings';
import { openClickHouseTarget } from './clickhouse-target';

export interface Command {
  summary: string;
  usage: string;
  run(args: string[]): Promise<number>;
}

const say = (line: string) => process.stderr.write(line + '\n');

function parse(args: string[], usage: string) {
  try {
    return parseArgs({ args, options: COMMON_OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\nusage: ${usage}`);
  }
}

/** Resolves on SIGINT/SIGTERM. */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const handler = (signal: NodeJS.Signals) => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
      resolve(signal);
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}

export const up: Command = {
  summary: 'start (or connect to) ClickHouse, apply the schema, run the collector until Ctrl-C',
  usage: 'distlog up [--home DIR] [--clickhouse-url URL] [--database NAME] [--grpc-port N] [--http-port N]',
  async run(args) {
    const settings = commonSettings(parse(args, this.usage).values);
    const target = await openClickHouseTarget(settings, say);
    let collector;
    try {
      collector = await startCollector({
        clickhouse: target.options,
        grpc: { port: settings.grpcPort },
        http: { port: settings.httpPort },
      });
    } catch (err) {
      await target.stop();
      throw err;
    }
    const lines = [
      'Distlog is up.',
      `  OTLP gRPC    127.0.0.1:${collector.grpcPort}`,
      `  OTLP HTTP    http://127.0.0.1:${collector.httpPort}/v1/logs`,
      `  ClickHouse   ${target.options.url} (database ${settings.database}${target.local ? ', private server' : ''})`,
      `  Data         ${settings.home}`,
      '',
      'Send logs with OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:' +
        collector.grpcPort +
        ' and @distlog/sdk,',
      'or any OpenTelemetry SDK. Press Ctrl-C to stop.',
    ];
    process.stdout.write(lines.join('\n') + '\n');
    const signal = await untilSignal();
    say(`${signal}: stopping…`);
    await collector.stop();
    await target.stop();
    say('stopped.');
    return 0;
  },
};

export const collector: Command = {
  summary: 'run only the collector against an existing ClickHouse (CLICKHOUSE_URL)',
  usage: 'distlog collector --clickhouse-url URL [--database NAME] [--grpc-port N] [--http-port N]',
  async run(args) {
    const settings = commonSettings(parse(args, this.usage).values);
    if (!settings.clickhouseUrl)
      throw new UsageError(
        `no ClickHouse given: set CLICKHOUSE_URL or --clickhouse-url\nusage: ${this.usage}`,
      );
    const running = await startCollector({
      clickhouse: {
        url: settings.clickhouseUrl,
        database: settings.database,
        username: settings.clickhouseUser,
        password: settings.clickhousePassword,
      },
      grpc: { port: settings.grpcPort },
      http: { port: settings.httpPort },
    });
    // One machine-readable line, so scripts and tests can use port 0.
    process.stdout.write(
      JSON.stringify({ event: 'listening', grpcPort: running.grpcPort, httpPort: running.httpPort }) + '\n',
    );
    await untilSignal();
    await running.stop();
    return 0;
  },
};

export const schema: Command = {
  summary: 'apply the schema migrations (`distlog schema apply`)',
  usage: 'distlog schema apply [--clickhouse-url URL] [--database NAME] [--home DIR]',
  async run(args) {
    const parsed = parse(args, this.usage);
    const [sub] = parsed.positionals;
    if (sub !== 'apply')
      throw new UsageError(`unknown schema command ${JSON.stringify(sub ?? '')}\nusage: ${this.usage}`);
    const settings = commonSettings(parsed.values);
    const target = await openClickHouseTarget(settings, say);
    try {
      const ch = await ClickHouse.connect(target.options);
      try {
        const steps = await applySchema(ch, DEFAULT_TIERS);
        say(`ClickHouse ${ch.features.version} at ${ch.url}, database ${ch.database}`);
        say(
          steps.length === 0
            ? 'schema is up to date'
            : steps.map((s) => `applied ${s.migration} to ${s.target}`).join('\n'),
        );
      } finally {
        await ch.close();
      }
    } finally {
      await target.stop();
    }
    return 0;
  },
};

export const COMMANDS: Record<string, Command> = { up, collector, schema };
