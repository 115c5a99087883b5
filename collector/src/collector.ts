import { ClickHouse, ClickHouseOptions } from './storage/clickhouse';
import { applySchema } from './storage/schema';
import { DEFAULT_TIERS, TierConfig } from './config/tiers';
import { DEFAULT_BATCH, BatchOptions, TableWriter } from './sinks/clickhouse/table-writer';
import { DefaultTierPipeline } from './pipeline/pipeline';
import { OtlpHttpReceiver } from './receivers/otlp/http-receiver';
import { OtlpGrpcReceiver } from './receivers/otlp/grpc-receiver';
import { DEFAULT_RECEIVER_LIMITS, ReceiverLimits } from './receivers/otlp/limits';
import { log } from './helpers/log';

export interface CollectorOptions {
  clickhouse: ClickHouseOptions;
  /** gRPC listener; port 0 picks a free one. Default 127.0.0.1:4317. */
  grpc?: { host?: string; port?: number };
  /** HTTP listener; port 0 picks a free one. Default 127.0.0.1:4318. */
  http?: { host?: string; port?: number };
  tiers?: readonly TierConfig[];
  /** Apply schema migrations at start. Default true. */
  applySchema?: boolean;
  batch?: Partial<BatchOptions>;
  limits?: Partial<ReceiverLimits>;
}

export interface RunningCollector {
  grpcPort: number;
  httpPort: number;
  clickhouse: ClickHouse;
  /** Stops receiving, stores what was accepted, closes ClickHouse. Safe to call twice. */
  stop(): Promise<void>;
}

export async function startCollector(options: CollectorOptions): Promise<RunningCollector> {
  const tiers = options.tiers ?? DEFAULT_TIERS;
  const ch = await ClickHouse.connect(options.clickhouse);
  if (options.applySchema !== false) await applySchema(ch, tiers);
  const writer = new TableWriter(ch, tiers[0].table, { ...DEFAULT_BATCH, ...options.batch });
  const pipeline = new DefaultTierPipeline(writer);
  const limits = { ...DEFAULT_RECEIVER_LIMITS, ...options.limits };

  const grpcReceiver = new OtlpGrpcReceiver(
    { host: options.grpc?.host ?? '127.0.0.1', port: options.grpc?.port ?? 4317, limits },
    pipeline,
  );
  const httpReceiver = new OtlpHttpReceiver(
    { host: options.http?.host ?? '127.0.0.1', port: options.http?.port ?? 4318, limits },
    pipeline,
  );
  httpReceiver.addRoute((req, res) => {
    if (req.url !== '/healthz' && req.url !== '/readyz') return false;
    res.setHeader('Content-Type', 'text/plain');
    res.end('ok\n');
    return true;
  });
  let grpcPort: number;
  let httpPort: number;
  try {
    grpcPort = await grpcReceiver.start();
    httpPort = await httpReceiver.start();
  } catch (err) {
    await grpcReceiver.stop();
    await ch.close();
    throw err;
  }
  log('info', 'collector started', {
    grpcPort,
    httpPort,
    clickhouse: ch.url,
    database: ch.database,
    server: ch.features.version,
  });

  let stopping: Promise<void> | undefined;
  return {
    grpcPort,
    httpPort,
    clickhouse: ch,
    stop: () =>
      (stopping ??= (async () => {
        await Promise.all([grpcReceiver.stop(), httpReceiver.stop()]);
        await pipeline.flush();
        await ch.close();
      })()),
  };
}
