// `@distlog/collector/config`: reading and checking a collector configuration file
// (what `distlog ui`, `distlog up` and `check-config` read before anything runs).
export { loadConfigFile, parseConfig, DEFAULT_CONFIG_FILE } from './collector-config';
export type { CollectorConfig, DestinationConfig } from './collector-config';
export { ConfigErrors } from './schema-kit';
export type { MetricConfig, MetricKind } from './metrics-config';
