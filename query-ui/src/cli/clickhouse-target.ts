import path from 'node:path';
import type { CollectorConfig } from '@distlog/collector/config';
import { LocalChdb, LocalClickHouse, ensureClickHouseInstalled } from '@distlog/collector/storage';
import type { CommonSettings } from './settings';

/**
 * The ClickHouse a verb works with: the one CLICKHOUSE_URL (or --clickhouse-url) names,
 * or — for `up` and `schema` without one — a private one under DISTLOG_HOME that this
 * process starts: a clickhouse-server (installing it first where it may) or the
 * embedded store (chDB, current ClickHouse from npm, in a process of its own).
 */
export interface ClickHouseTarget {
  config: CollectorConfig;
  /** What was started, for the banner; undefined for a URL. */
  local: string | undefined;
  stop(): Promise<void>;
}

export async function openClickHouseTarget(
  settings: CommonSettings,
  config: CollectorConfig,
  say: (line: string) => void,
): Promise<ClickHouseTarget> {
  if (settings.clickhouseUrl) return { config, local: undefined, stop: async () => undefined };
  const withUrl = (url: string) => ({ ...config, clickhouse: { ...config.clickhouse, url } });
  if (settings.store === 'embedded') {
    const dir = path.join(settings.home, 'store');
    say(`starting the embedded store (chDB) in ${dir} …`);
    const store = await LocalChdb.start({ dir, httpPort: settings.localClickHouseHttpPort });
    return {
      config: withUrl(store.url),
      local: `embedded store, ClickHouse ${store.version}`,
      stop: () => store.stop(),
    };
  }
  ensureClickHouseInstalled(say);
  say(`starting a private ClickHouse server in ${path.join(settings.home, 'clickhouse')} …`);
  const local = await LocalClickHouse.start({
    dir: path.join(settings.home, 'clickhouse'),
    httpPort: settings.localClickHouseHttpPort,
    tcpPort: settings.localClickHouseTcpPort,
    ownProcessGroup: true,
  });
  return { config: withUrl(local.url), local: 'private server', stop: () => local.stop() };
}
