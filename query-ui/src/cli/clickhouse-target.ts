import path from 'node:path';
import { LocalClickHouse, ensureClickHouseInstalled, CollectorConfig } from '@distlog/collector';
import { CommonSettings } from './settings';

/**
 * The ClickHouse a verb works with: the one CLICKHOUSE_URL (or --clickhouse-url) names,
 * or — for `up` and `schema` without one — a private local server under DISTLOG_HOME
 * that this process starts (installing it first where it may).
 */
export interface ClickHouseTarget {
  config: CollectorConfig;
  local: LocalClickHouse | undefined;
  stop(): Promise<void>;
}

export async function openClickHouseTarget(
  settings: CommonSettings,
  config: CollectorConfig,
  say: (line: string) => void,
): Promise<ClickHouseTarget> {
  if (settings.clickhouseUrl) return { config, local: undefined, stop: async () => undefined };
  ensureClickHouseInstalled(say);
  say(`starting a private ClickHouse server in ${path.join(settings.home, 'clickhouse')} …`);
  const local = await LocalClickHouse.start({
    dir: path.join(settings.home, 'clickhouse'),
    httpPort: settings.localClickHouseHttpPort,
    tcpPort: settings.localClickHouseTcpPort,
  });
  return {
    config: { ...config, clickhouse: { ...config.clickhouse, url: local.url } },
    local,
    stop: () => local.stop(),
  };
}
