// `@distlog/collector`: the collector's runtime (receivers, pipeline, sinks, level
// control, live tail) and, for convenience, everything of its parts. A reader that does
// not run a collector imports the parts alone, without loading the runtime:
//   @distlog/collector/storage   ClickHouse access, SQL escaping, schema, retention, private servers
//   @distlog/collector/auth      keys, users, throttle, TLS settings
//   @distlog/collector/model     the record shape, severities, patterns
//   @distlog/collector/config    configuration files
//   @distlog/collector/testing   the project's test helpers (not published)
export * from './storage';
export * from './auth';
export * from './model';
export * from './config';
export { startCollector } from './collector';
export type { CollectorOptions, RunningCollector } from './collector';
export { decodeLogsRequestProtobuf } from './receivers/otlp/decode-protobuf';
export { decodeLogsRequestJson } from './receivers/otlp/decode-json';
export { PROTO_DIR, logsServiceDefinition } from '@distlog/proto';
export {
  OtlpGrpcReceiver,
  STREAM_WINDOW_BYTES,
  CONNECTION_WINDOW_BYTES,
} from './receivers/otlp/grpc-receiver';
export { OtlpHttpReceiver } from './receivers/otlp/http-receiver';
export { DEFAULT_RECEIVER_LIMITS } from './receivers/otlp/limits';
export type { ReceiverLimits } from './receivers/otlp/limits';
export type { Consumer } from './pipeline/pipeline';
export { Spool } from './helpers/spool';
export { CollectorMetrics } from './telemetry/metrics';
export { encodeLogsRequest } from './sinks/otlp/encode-request';
export { LevelStore } from './control/level-store';
export type { TailRecord } from './tail/tail-hub';
export type { CollectorStatus } from './control/status';
export type { LevelInstance, LevelChange } from './control/level-store';
export { LEVELS, LevelRuleError, validateRule } from './control/level-rules';
export type { Level, LevelRule, NewLevelRule } from './control/level-rules';
export { levelControlService } from './control/level-grpc';
