import { parseArgs } from 'node:util';
import type { CollectorConfig, RunningCollector } from '@distlog/collector';
import {
  Authenticator,
  ClickHouse,
  ConfigErrors,
  applySchema,
  loadConfigFile,
  startCollector,
  tierStatus,
} from '@distlog/collector';
import type { CommonSettings } from './settings';
import { COMMON_OPTIONS, commonSettings, loadSettingsConfig, UsageError } from './settings';
import { openClickHouseTarget } from './clickhouse-target';
import { startQueryServer } from '../server/app';
import { search, tail, tree, context, level, metrics, patterns } from './client-commands';

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

/** Resolves on SIGINT/SIGTERM; SIGHUP calls `onHangup` (configuration reload). */
function untilSignal(onHangup?: () => void): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const hangup = () => onHangup?.();
    const handler = (signal: NodeJS.Signals) => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
      process.off('SIGHUP', hangup);
      resolve(signal);
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
    process.on('SIGHUP', hangup);
  });
}

/** SIGHUP: re-read the configuration file; a broken file is reported and the running configuration kept. */
function reloader(settings: CommonSettings, collector: RunningCollector, clickhouseUrl: string): () => void {
  let reloading = Promise.resolve();
  return () => {
    reloading = reloading.then(async () => {
      try {
        const next = loadSettingsConfig(settings);
        await collector.reload({ ...next, clickhouse: { ...next.clickhouse, url: clickhouseUrl } });
        say(`reloaded ${settings.configFile}`);
      } catch (err) {
        say(`reload failed, keeping the running configuration:\n${(err as Error).message}`);
      }
    });
  };
}

export const up: Command = {
  summary: 'start (or connect to) ClickHouse, apply the schema, run the collector until Ctrl-C',
  usage:
    'distlog up [--home DIR] [--config FILE] [--clickhouse-url URL | --store server|embedded] [--database NAME] [--grpc-port N] [--http-port N]',
  async run(args) {
    const settings = commonSettings(parse(args, this.usage).values);
    const target = await openClickHouseTarget(settings, loadSettingsConfig(settings), say);
    let collector: RunningCollector;
    try {
      collector = await startCollector({ config: target.config });
    } catch (err) {
      await target.stop();
      throw err;
    }
    const { config } = collector;
    let ui;
    try {
      ui = await startQueryServer({
        ch: collector.clickhouse,
        host: uiHost(),
        port: uiPort(),
        collectorUrl: `${scheme(config)}://${config.receivers.http.host}:${collector.httpPort}`,
        auth: new Authenticator(config.auth),
        tls: config.tls,
        trustProxy: uiTrustProxy(),
      });
    } catch (err) {
      await collector.stop();
      await target.stop();
      throw err;
    }
    const lines = [
      'Distlog is up.',
      `  OTLP gRPC    ${config.receivers.grpc.host}:${collector.grpcPort}`,
      `  OTLP HTTP    ${scheme(config)}://${config.receivers.http.host}:${collector.httpPort}/v1/logs`,
      `  Web UI, API  ${scheme(config)}://${uiHost()}:${ui.port}/`,
      `  Metrics      ${scheme(config)}://${config.receivers.http.host}:${collector.httpPort}/metrics`,
      `  ClickHouse   ${config.clickhouse.url} (database ${config.clickhouse.database}${target.local ? `, ${target.local}` : ''})`,
      `  Tiers        ${config.tiers.map((t) => `${t.name} (${t.retentionDays} d)`).join(', ')}`,
      `  Config       ${config.source}`,
      `  Data         ${settings.home}`,
      ...accessLines(config, uiHost()),
      '',
      `Send logs with OTEL_EXPORTER_OTLP_ENDPOINT=${scheme(config)}://${config.receivers.grpc.host}:${collector.grpcPort} and @distlog/sdk,`,
      'or any OpenTelemetry SDK. SIGHUP reloads the configuration. Press Ctrl-C to stop.',
    ];
    process.stdout.write(lines.join('\n') + '\n');
    const signal = await untilSignal(reloader(settings, collector, config.clickhouse.url));
    say(`${signal}: stopping…`);
    await ui.stop();
    await collector.stop();
    await target.stop();
    say('stopped.');
    return 0;
  },
};

export const collector: Command = {
  summary: 'run only the collector (`distlog collector check-config FILE` validates a configuration)',
  usage:
    'distlog collector [--config FILE] [--clickhouse-url URL] [--database NAME] [--grpc-port N] [--http-port N] [--home DIR]\n' +
    '       distlog collector check-config FILE',
  async run(args) {
    const parsed = parse(args, this.usage);
    const [sub, file] = parsed.positionals;
    if (sub === 'check-config') {
      if (!file) throw new UsageError(`check-config needs a FILE\nusage: ${this.usage}`);
      try {
        const config = loadConfigFile(file);
        say(
          `${file}: ok — ${config.tiers.length} tiers (${config.tiers.map((t) => t.name).join(', ')}), ` +
            `${config.rules.length} rules, ${config.destinations.length} destinations, ` +
            `${config.metrics.length} metrics${config.metrics.length ? ` (${config.metrics.map((m) => m.name).join(', ')})` : ''}`,
        );
        return 0;
      } catch (err) {
        if (err instanceof ConfigErrors) {
          say(err.message);
          return 1;
        }
        throw err;
      }
    }
    if (sub !== undefined)
      throw new UsageError(`unknown collector command ${JSON.stringify(sub)}\nusage: ${this.usage}`);
    const settings = commonSettings(parsed.values);
    const config = loadSettingsConfig(settings);
    const running = await startCollector({ config });
    // One machine-readable line, so scripts and tests can use port 0.
    process.stdout.write(
      JSON.stringify({ event: 'listening', grpcPort: running.grpcPort, httpPort: running.httpPort }) + '\n',
    );
    await untilSignal(reloader(settings, running, config.clickhouse.url));
    await running.stop();
    return 0;
  },
};

async function withSchemaTarget<T>(
  args: string[],
  usage: string,
  fn: (ch: ClickHouse, config: CollectorConfig) => Promise<T>,
): Promise<T> {
  const settings = commonSettings(parse(args, usage).values);
  const target = await openClickHouseTarget(settings, loadSettingsConfig(settings), say);
  try {
    const ch = await ClickHouse.connect(target.config.clickhouse);
    try {
      return await fn(ch, target.config);
    } finally {
      await ch.close();
    }
  } finally {
    await target.stop();
  }
}

export const schema: Command = {
  summary: 'apply the schema migrations, or show each tier (`distlog schema apply|status`)',
  usage:
    'distlog schema apply|status [--config FILE] [--clickhouse-url URL] [--database NAME] [--cluster NAME [--replicated]] [--home DIR] [--json]',
  async run(args) {
    const json = args.includes('--json');
    const rest = args.filter((a) => a !== '--json');
    const [sub] = parse(rest, this.usage).positionals;
    if (sub === 'apply') {
      return withSchemaTarget(rest.slice(1), this.usage, async (ch, config) => {
        const steps = await applySchema(ch, config.tiers);
        say(
          `ClickHouse ${ch.features.version} at ${ch.url}, database ${ch.database}${await clusterSummary(ch)}`,
        );
        say(
          steps.length === 0
            ? 'schema is up to date'
            : steps.map((s) => `applied ${s.migration} to ${s.target}`).join('\n'),
        );
        return 0;
      });
    }
    if (sub === 'status') {
      return withSchemaTarget(rest.slice(1), this.usage, async (ch, config) => {
        const status = await tierStatus(ch, config.tiers);
        if (json) {
          for (const s of status) process.stdout.write(JSON.stringify(s) + '\n');
          return 0;
        }
        const rows = status.map((s) => [
          s.tier,
          `${ch.database}.${s.table}`,
          `${s.retentionDays} d`,
          String(s.rows),
          formatBytes(s.bytesOnDisk),
          s.oldestPartition ?? '-',
          s.newestPartition ?? '-',
        ]);
        const header = ['tier', 'table', 'retention', 'rows', 'size', 'oldest partition', 'newest partition'];
        const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
        const line = (cells: string[]) =>
          cells
            .map((c, i) => c.padEnd(widths[i]))
            .join('  ')
            .trimEnd();
        process.stdout.write(
          [
            `ClickHouse ${ch.features.version} at ${ch.url}${await clusterSummary(ch)}${ch.features.ttl ? ' (TTL declared too)' : ' (no TTL on this server: retention drops partitions)'}`,
            line(header),
            ...rows.map(line),
          ].join('\n') + '\n',
        );
        return 0;
      });
    }
    throw new UsageError(`unknown schema command ${JSON.stringify(sub ?? '')}\nusage: ${this.usage}`);
  },
};

async function clusterSummary(ch: ClickHouse): Promise<string> {
  if (!ch.cluster) return '';
  const shards = await ch.shards();
  const where = shards.map((s) => `${s.host}:${s.port}`).join(', ');
  return `, cluster ${ch.cluster} (${shards.length} shards: ${where}${ch.replicated ? '; replicated tables' : ''})`;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

export const ui: Command = {
  summary: 'run only the query API and web UI (DISTLOG_UI_PORT, default 4320) against CLICKHOUSE_URL',
  usage: 'distlog ui [--clickhouse-url URL] [--database NAME] [--config FILE]',
  async run(args) {
    const settings = commonSettings(parse(args, this.usage).values);
    const config = loadSettingsConfig(settings);
    const ch = await ClickHouse.connect(config.clickhouse);
    const server = await startQueryServer({
      ch,
      host: uiHost(),
      port: uiPort(),
      auth: new Authenticator(config.auth),
      tls: config.tls,
      trustProxy: uiTrustProxy(),
    });
    process.stdout.write(JSON.stringify({ event: 'listening', uiPort: server.port }) + '\n');
    say(`Distlog UI and API at ${scheme(config)}://${uiHost()}:${server.port}/`);
    say(
      config.auth.users.length
        ? `${config.auth.users.length} users may log in (auth.users)`
        : `OPEN: no users in auth.users, anyone who can reach ${uiHost()} may search, run SQL and change levels`,
    );
    await untilSignal();
    await server.stop();
    await ch.close();
    return 0;
  },
};

function uiPort(): number {
  const raw = process.env.DISTLOG_UI_PORT;
  if (raw === undefined || raw === '') return 4320;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new UsageError(`DISTLOG_UI_PORT: expected a port number 0-65535, got ${JSON.stringify(raw)}`);
  return n;
}

/** DISTLOG_UI_TRUST_PROXY: comma-separated proxy addresses or CIDR ranges (see AppOptions.trustProxy). */
function uiTrustProxy(): string[] | undefined {
  const list = (process.env.DISTLOG_UI_TRUST_PROXY ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return list.length ? list : undefined;
}

function uiHost(): string {
  return process.env.DISTLOG_UI_HOST ?? '127.0.0.1';
}

export const COMMANDS: Record<string, Command> = {
  up,
  collector,
  ui,
  schema,
  search,
  tail,
  tree,
  context,
  level,
  metrics,
  patterns,
};

function scheme(config: CollectorConfig): 'http' | 'https' {
  return config.tls ? 'https' : 'http';
}

/** What is open and what needs credentials, said at every start. */
function accessLines(config: CollectorConfig, uiHostName: string): string[] {
  const { ingestKeys, users } = config.auth;
  const hosts = [config.receivers.grpc.host, config.receivers.http.host];
  return [
    `  TLS          ${config.tls ? `on (${config.tls.certFile})` : 'off'}`,
    `  Sending      ${ingestKeys.length ? `${ingestKeys.length} ingest keys (auth.ingestKeys)` : `OPEN: anyone who can reach ${[...new Set(hosts)].join(', ')} may send`}`,
    `  Reading      ${users.length ? `${users.length} users (auth.users)` : `OPEN: anyone who can reach ${uiHostName} may search, run SQL and change levels`}`,
  ];
}
