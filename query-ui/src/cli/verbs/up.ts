import type { RunningCollector } from '@distlog/collector';
import { Authenticator } from '@distlog/collector/auth';
import { withoutCredentials } from '@distlog/collector/storage';
import { commonSettings, loadSettingsConfig } from '../settings';
import { openClickHouseTarget } from '../clickhouse-target';
import { loadQueryServer } from '../load-query-server';
import type { Command } from '../command';
import { say, parse, untilSignal } from '../command';
import { uiTrustProxy, uiHost, uiBasePath, scheme, reloader, accessLines } from '../server-verbs';
import { loadCollector } from '../load-collector';
import { assertPortsFree, receiverPorts, storePorts } from '../ports';

export const up: Command = {
  summary: 'start (or connect to) ClickHouse, apply the schema, run the collector until Ctrl-C',
  usage:
    'distlog up [--home DIR] [--config FILE] [--clickhouse-url URL | --store server|embedded] [--database NAME] [--grpc-port N] [--http-port N] [--ui-port N]',
  async run(args) {
    const settings = commonSettings(parse(args, this.usage).values);
    const planned = loadSettingsConfig(settings);
    const basePath = uiBasePath();
    await assertPortsFree([
      ...storePorts(settings),
      ...receiverPorts(planned),
      {
        host: uiHost(),
        port: settings.uiPort,
        what: 'web UI and API',
        setting: '--ui-port / DISTLOG_UI_PORT',
      },
    ]);
    const target = await openClickHouseTarget(settings, planned, say);
    let collector: RunningCollector;
    try {
      collector = await (await loadCollector()).startCollector({ config: target.config });
    } catch (err) {
      await target.stop();
      throw err;
    }
    const { config } = collector;
    let ui;
    try {
      ui = await (
        await loadQueryServer()
      ).startQueryServer({
        ch: collector.clickhouse,
        host: uiHost(),
        port: settings.uiPort,
        collectorUrl: `${scheme(config)}://${config.receivers.http.host}:${collector.httpPort}`,
        auth: new Authenticator(config.auth),
        tls: config.tls,
        trustProxy: uiTrustProxy(),
        basePath,
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
      ...(basePath ? [`  Proxy path   ${basePath}/ (DISTLOG_UI_BASE_PATH)`] : []),
      // The console verbs read http://127.0.0.1:4320 (DISTLOG_UI_PORT in this shell) unless told otherwise.
      ...(ui.port !== 4320
        ? [`  Console      DISTLOG_API=${scheme(config)}://${uiHost()}:${ui.port} npx distlog search …`]
        : []),
      `  Metrics      ${scheme(config)}://${config.receivers.http.host}:${collector.httpPort}/metrics`,
      `  ClickHouse   ${withoutCredentials(config.clickhouse.url)} (database ${config.clickhouse.database}${target.local ? `, ${target.local}` : ''})`,
      `  Tiers        ${config.tiers.map((t) => `${t.name} (${t.retentionDays} d)`).join(', ')}`,
      `  Config       ${config.source}`,
      `  Data         ${settings.home}`,
      ...accessLines(config, uiHost()),
      '',
      `Send logs with OTEL_EXPORTER_OTLP_ENDPOINT=${scheme(config)}://${config.receivers.grpc.host}:${collector.grpcPort} and @distlog/sdk,`,
      'or any OpenTelemetry SDK (its logs, and its spans as scopes).',
      'SIGHUP reloads the configuration. Press Ctrl-C to stop.',
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
