// `@distlog/collector/storage`: ClickHouse access for every reader and writer — the
// connection, SQL escaping, the schema and its migrations, retention, the tables'
// names, the sketches' SQL, and the private servers (clickhouse-server, the embedded
// store). Loads nothing of the collector's runtime (receivers, pipeline, sinks, gRPC):
// the query server and the `distlog` console verbs use it alone.
export { ClickHouse, ClickHouseUnavailableError, ClusterConfigError } from './clickhouse';
export type { ClickHouseOptions } from './clickhouse';
export { withoutCredentials } from './url';
export { identifier, qualified, stringLiteral, intLiteral, SqlValues } from './sql';
export { applySchema, loadMigrations } from './schema';
export { featuresForVersion } from './server-features';
export type { ServerFeatures } from './server-features';
export { enforceRetention, tierStatus, METRIC_KEEP_DAYS } from './retention';
export type { TierStatus } from './retention';
export { METRIC_TABLES, METRIC_DEFINITIONS_TABLE } from './metric-tables';
export {
  LocalClickHouse,
  ClickHouseNotInstalledError,
  ensureClickHouseInstalled,
  findClickHouseServer,
  freePort,
  portInUse,
  PortTakenError,
} from './local-clickhouse';
export type { LocalClickHouseOptions } from './local-clickhouse';
export { LocalChdb } from './embedded/local-chdb';
export type { LocalChdbOptions } from './embedded/local-chdb';
export { forEachClickHouseTarget } from './targets';
export { DEFAULT_TIERS } from '../config/tiers';
export type { TierConfig } from '../config/tiers';
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
} from '../metrics/sketch';
