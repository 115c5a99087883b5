export { startCollector } from './collector';
export type { CollectorOptions, RunningCollector } from './collector';
export { ClickHouse, ClickHouseUnavailableError } from './storage/clickhouse';
export type { ClickHouseOptions } from './storage/clickhouse';
export {
  LocalClickHouse,
  ClickHouseNotInstalledError,
  ensureClickHouseInstalled,
  findClickHouseServer,
  freePort,
} from './storage/local-clickhouse';
export type { LocalClickHouseOptions } from './storage/local-clickhouse';
export { LocalChdb } from './storage/embedded/local-chdb';
export { forEachClickHouseTarget } from './storage/targets';
export type { LocalChdbOptions } from './storage/embedded/local-chdb';
export { applySchema, loadMigrations } from './storage/schema';
export { featuresForVersion } from './storage/server-features';
export type { ServerFeatures } from './storage/server-features';
export { identifier, qualified, stringLiteral, intLiteral, SqlValues } from './storage/sql';
export { DEFAULT_TIERS } from './config/tiers';
export type { TierConfig } from './config/tiers';
export { decodeLogsRequestProtobuf } from './receivers/otlp/decode-protobuf';
export { decodeLogsRequestJson } from './receivers/otlp/decode-json';
export { PROTO_DIR, logsServiceDefinition } from './receivers/otlp/grpc-receiver';
export type { LogRow, Attributes, ResourceInfo, ScopeInfo } from './model/log-row';
export { SEVERITY_TEXT_BY_NUMBER, makeRow } from './model/log-row';
export {
  createTestDatabase,
  dropTestDatabase,
  holdExpiredRows,
  testClickHouseUrl,
  eventually,
} from './storage/testing';
export { OtlpGrpcReceiver } from './receivers/otlp/grpc-receiver';
export { OtlpHttpReceiver } from './receivers/otlp/http-receiver';
export { DEFAULT_RECEIVER_LIMITS } from './receivers/otlp/limits';
export type { ReceiverLimits } from './receivers/otlp/limits';
export type { Consumer } from './pipeline/pipeline';
export { loadConfigFile, parseConfig, DEFAULT_CONFIG_FILE } from './config/collector-config';
export type { CollectorConfig, DestinationConfig } from './config/collector-config';
export { ConfigErrors } from './config/validate';
export { enforceRetention, tierStatus } from './storage/retention';
export type { TierStatus } from './storage/retention';
export { Spool } from './helpers/spool';
export { CollectorMetrics } from './telemetry/metrics';
export { encodeLogsRequest } from './sinks/otlp/encode-request';
export { LevelStore } from './control/level-store';
export type { TailRecord } from './tail/tail-hub';
export type { LevelInstance, LevelChange } from './control/level-store';
export { LEVELS, LevelRuleError, validateRule } from './control/level-rules';
export type { Level, LevelRule, NewLevelRule } from './control/level-rules';
export { AuthError, Authenticator, authorizeRows, newSecret, TENANT_ATTRIBUTE } from './auth/authenticator';
export type { IngestIdentity, UserIdentity } from './auth/authenticator';
export { FailureThrottle, throttledMessage } from './auth/throttle';
export type { ThrottleOptions } from './auth/throttle';
export { NO_AUTH, MIN_SECRET_LENGTH } from './auth/auth-config';
export type { AuthConfig, Role, TlsConfig } from './auth/auth-config';
export { levelControlService } from './control/level-grpc';
export { METRIC_TABLES, METRIC_DEFINITIONS_TABLE } from './metrics/metric-sink';
export { METRIC_KEEP_DAYS } from './storage/retention';
export {
  accuracyOf,
  bucketOf,
  bucketValue,
  BUCKET_WIDTHS,
  coarseBucket,
  quantileOf,
  quantileSql,
  quantileFromSortedSql,
  RELATIVE_ACCURACY,
} from './metrics/sketch';
export type { MetricConfig, MetricKind } from './config/metrics-config';
export { templateOf, patternHex } from './model/pattern';
