/**
 * What the connected ClickHouse server can do, from its version. The project runs
 * on 18.16 (the newest these build machines can install) and on current releases;
 * newer features are switched on here and nowhere else.
 */
export interface ServerFeatures {
  version: string;
  /** `TTL` on MergeTree tables (19.6). */
  ttl: boolean;
  /** Data-skipping indexes without experimental settings (20.1). */
  skipIndexes: boolean;
  /** `{name:Type}` query parameters (19.11). */
  queryParameters: boolean;
  /** `Map(K, V)` columns without experimental settings (21.8). */
  mapType: boolean;
  /** `DateTime64(9)` (20.1). */
  dateTime64: boolean;
}

/** A switchable feature's name (migrations name them in `-- requires:` / `-- unless:`). */
export type Feature = keyof Omit<ServerFeatures, 'version'>;

export const FEATURES: readonly Feature[] = [
  'ttl',
  'skipIndexes',
  'queryParameters',
  'mapType',
  'dateTime64',
];

export function featuresForVersion(version: string): ServerFeatures {
  const [major = 0, minor = 0] = version.split('.').map((p) => Number.parseInt(p, 10) || 0);
  const atLeast = (m: number, n: number) => major > m || (major === m && minor >= n);
  return {
    version,
    ttl: atLeast(19, 6),
    skipIndexes: atLeast(20, 1),
    queryParameters: atLeast(19, 11),
    mapType: atLeast(21, 8),
    dateTime64: atLeast(20, 1),
  };
}

/**
 * A header the embedded store sends with every answer: it runs one statement at a time,
 * so a client gains nothing from sending several at once (ClickHouse.serialStatements;
 * the table writers then insert one batch at a time, in bigger batches).
 */
export const SERIAL_HEADER = 'X-Distlog-Serial-Statements';
