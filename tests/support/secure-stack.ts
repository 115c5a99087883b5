import type { ClickHouse } from '@distlog/collector/storage';
import { Authenticator } from '@distlog/collector/auth';
import { createTestDatabase, dropTestDatabase, testClickHouseUrl } from '@distlog/collector/testing';
import { loadConfigFile } from '@distlog/collector/config';
import type { QueryServer } from '@distlog/query-ui';
import { startQueryServer } from '@distlog/query-ui';
import type { CollectorProcess } from './collector-process';
import { startCollectorProcess } from './collector-process';

export interface SecureStack {
  ch: ClickHouse;
  collector: CollectorProcess;
  ui: QueryServer;
}

/**
 * A test database, a collector process and a query server, both configured by one
 * collector configuration file (its `tls` and `auth`), the query server calling the
 * collector over https. What started is stopped again when a later step fails.
 */
export async function startSecureStack(
  prefix: string,
  configFile: string,
  env: Record<string, string> = {},
): Promise<SecureStack> {
  const started: Partial<SecureStack> = {};
  try {
    started.ch = await createTestDatabase(prefix);
    started.collector = await startCollectorProcess(testClickHouseUrl(), started.ch.database, {
      config: configFile,
      env,
    });
    const config = loadConfigFile(configFile, { ...process.env, ...env });
    started.ui = await startQueryServer({
      ch: started.ch,
      port: 0,
      auth: new Authenticator(config.auth),
      tls: config.tls,
      collectorUrl: `https://127.0.0.1:${started.collector.httpPort}`,
    });
    return started as SecureStack;
  } catch (err) {
    await stopSecureStack(started);
    throw err;
  }
}

export async function stopSecureStack(stack: Partial<SecureStack>): Promise<void> {
  await stack.ui?.stop();
  await stack.collector?.stop();
  if (stack.ch) await dropTestDatabase(stack.ch);
}
