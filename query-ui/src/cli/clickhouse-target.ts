import path from 'node:path';
import { LocalClickHouse, ensureClickHouseInstalled, ClickHouseOptions } from '@distlog/collector';
import { CommonSettings } from './settings';

/**
 * The ClickHouse a verb works with: the one CLICKHOUSE_URL names, or a private local
 * server under DISTLOG_HOME that this process starts (installing it first where it may).
 */
export interface ClickHouseTarget {
  options: ClickHouseOptions;
  local: LocalClickHouse | undefined;
  stop(): Promise<void>;
}

export async function openClickHouseTarget(
  settings: CommonSettings,
  say: (line: string) => void,
): Promise<ClickHouseTarget> {
  const base = {
    database: settings.database,
    username: settings.clickhouseUser,
    password: settings.clickhousePassword,
  };
  if (settings.clickhouseUrl) {
    return {
      options: { url: settings.clickhouseUrl, ...base },
      local: undefined,
      stop: async () => undefined,
    };
  }
  ensureClickHouseInstalled(say);
  say(`starting a private ClickHouse server in ${path.join(settings.home, 'clickhouse')} …`);
  const local = await LocalClickHouse.start({
    dir: path.join(settings.home, 'clickhouse'),
    httpPort: settings.localClickHouseHttpPort,
    tcpPort: settings.localClickHouseTcpPort,
  });
  return { options: { url: local.url, ...base }, local, stop: () => local.stop() };
}
