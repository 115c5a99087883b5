import { portInUse } from '@distlog/collector/storage';
import type { CollectorConfig } from '@distlog/collector/config';
import type { CommonSettings } from './settings';

/** A port a verb is about to listen on: where, for what, and which setting moves it. */
export interface PlannedPort {
  host: string;
  port: number;
  what: string;
  setting: string;
}

/**
 * Fails before anything starts when a port the verb will listen on is taken, naming each
 * and the setting that moves it. Without this a second `distlog up` started half its
 * parts, and a private ClickHouse whose port another one answered on was taken for its own.
 * (A port taken between this check and the listen still fails there, as before.)
 */
export async function assertPortsFree(ports: readonly PlannedPort[]): Promise<void> {
  const taken: PlannedPort[] = [];
  for (const p of ports) if (p.port !== 0 && (await portInUse(p.host, p.port))) taken.push(p);
  if (taken.length === 0) return;
  throw new PortsTakenError(
    taken
      .map((p) => `${p.host}:${p.port} (${p.what}) is already in use; another port: ${p.setting}`)
      .join('\n') + '\nIs another `distlog up` or collector running? Stop it, or give this one other ports.',
  );
}

export class PortsTakenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PortsTakenError';
  }
}

/** The collector's two receivers, as the configuration (with its flags) sets them. */
export function receiverPorts(config: CollectorConfig): PlannedPort[] {
  const { grpc, http } = config.receivers;
  return [
    {
      host: grpc.host,
      port: grpc.port,
      what: 'OTLP gRPC receiver',
      setting: '--grpc-port / DISTLOG_GRPC_PORT',
    },
    {
      host: http.host,
      port: http.port,
      what: 'OTLP HTTP receiver',
      setting: '--http-port / DISTLOG_HTTP_PORT',
    },
  ];
}

/** The private ClickHouse `up` starts when no URL is given (none for a URL). */
export function storePorts(settings: CommonSettings): PlannedPort[] {
  if (settings.clickhouseUrl) return [];
  const http: PlannedPort = {
    host: '127.0.0.1',
    port: settings.localClickHouseHttpPort,
    what: settings.store === 'embedded' ? 'embedded store' : 'private ClickHouse server, HTTP',
    setting: 'DISTLOG_CLICKHOUSE_HTTP_PORT',
  };
  if (settings.store === 'embedded') return [http];
  const tcp: PlannedPort = {
    host: '127.0.0.1',
    port: settings.localClickHouseTcpPort,
    what: 'private ClickHouse server, native protocol',
    setting: 'DISTLOG_CLICKHOUSE_TCP_PORT',
  };
  return [http, tcp];
}
