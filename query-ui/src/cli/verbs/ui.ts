import { Authenticator } from '@distlog/collector/auth';
import { ClickHouse } from '@distlog/collector/storage';
import { commonSettings, loadSettingsConfig } from '../settings';
import { loadQueryServer } from '../load-query-server';
import type { Command } from '../command';
import { say, parse, untilSignal } from '../command';
import { assertPortsFree } from '../ports';
import { uiTrustProxy, uiHost, uiBasePath, scheme } from '../server-verbs';

export const ui: Command = {
  summary:
    'run only the query API and web UI (--ui-port / DISTLOG_UI_PORT, default 4320) against CLICKHOUSE_URL',
  usage: 'distlog ui [--clickhouse-url URL] [--database NAME] [--config FILE] [--ui-port N]',
  async run(args) {
    const settings = commonSettings(parse(args, this.usage).values);
    const config = loadSettingsConfig(settings);
    const basePath = uiBasePath();
    await assertPortsFree([
      {
        host: uiHost(),
        port: settings.uiPort,
        what: 'web UI and API',
        setting: '--ui-port / DISTLOG_UI_PORT',
      },
    ]);
    const ch = await ClickHouse.connect(config.clickhouse);
    const server = await (
      await loadQueryServer()
    ).startQueryServer({
      ch,
      host: uiHost(),
      port: settings.uiPort,
      auth: new Authenticator(config.auth),
      tls: config.tls,
      trustProxy: uiTrustProxy(),
      basePath,
    });
    process.stdout.write(JSON.stringify({ event: 'listening', uiPort: server.port }) + '\n');
    say(
      `Distlog UI and API at ${scheme(config)}://${uiHost()}:${server.port}/` +
        (basePath ? ` (behind a proxy at ${basePath}/: DISTLOG_UI_BASE_PATH)` : ''),
    );
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
