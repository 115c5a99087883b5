import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import type { ServerFeatures } from './server-features';
import { featuresForVersion, SERIAL_HEADER } from './server-features';
import { identifier, SqlValues, stringLiteral } from './sql';
import { withoutCredentials } from './url';
import { clickHouseErrorCode } from './clickhouse-errors';

export interface ClickHouseOptions {
  /** HTTP interface, e.g. http://127.0.0.1:8123. */
  url: string;
  username?: string;
  password?: string;
  /** Database holding Distlog's tables. */
  database: string;
  /** Per-request timeout (ms). Default 30 000. */
  requestTimeoutMs?: number;
  /**
   * A cluster from the server's `remote_servers`: tables become `<name>_local` on every
   * shard plus a `Distributed` table `<name>` over them, DDL runs `ON CLUSTER`, and
   * inserts into the Distributed tables are synchronous (acknowledged = stored on the shards).
   */
  cluster?: string;
  /**
   * With `cluster`: the tables on the shards are Replicated*MergeTree, kept in ZooKeeper
   * under `/clickhouse/tables/{shard}/<database>/<table>` with the `{replica}` name —
   * macros every server of the cluster must define. The cluster's shards should have
   * `internal_replication` on, so an insert goes to one replica and replication does the rest.
   */
  replicated?: boolean;
}

/**
 * ClickHouse's codes for a user it does not let in: UNKNOWN_USER, WRONG_PASSWORD,
 * REQUIRED_PASSWORD (18.16 and later), IP_ADDRESS_NOT_ALLOWED, AUTHENTICATION_FAILED (current).
 */
const REFUSED_USER = new Set([192, 193, 194, 195, 516]);

export class ClickHouseUnavailableError extends Error {
  constructor(url: string, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    const code = clickHouseErrorCode(cause);
    super(
      code !== undefined && REFUSED_USER.has(code)
        ? `ClickHouse at ${withoutCredentials(url)} answers but refuses the user: ${why.trim()} ` +
            '(the user and password come from CLICKHOUSE_URL as http://USER:PASSWORD@host:8123, else CLICKHOUSE_USER and CLICKHOUSE_PASSWORD, or clickhouse.username and clickhouse.password in the configuration)'
        : `ClickHouse at ${withoutCredentials(url)} is unreachable: ${why}`,
    );
    this.name = 'ClickHouseUnavailableError';
  }
}

export class ClusterConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClusterConfigError';
  }
}

/** Distlog's access to one ClickHouse server: queries, commands and RowBinary inserts. */
export class ClickHouse {
  readonly database: string;
  readonly cluster: string | undefined;
  readonly replicated: boolean;
  /**
   * The server runs one statement at a time (the embedded store says so in a header of
   * its answers; a ClickHouse server runs them side by side): sending two inserts at
   * once only queues the second there.
   */
  serialStatements = false;
  private constructor(
    private readonly client: ClickHouseClient,
    /** Where the server is, without the user and password the URL given may carry: safe to show. */
    readonly url: string,
    database: string,
    readonly features: ServerFeatures,
    cluster: string | undefined,
    replicated: boolean,
  ) {
    this.database = identifier(database, 'database name');
    this.cluster = cluster === undefined ? undefined : identifier(cluster, 'cluster name');
    this.replicated = replicated;
  }

  /** ` ON CLUSTER name` in cluster mode, else nothing: for DDL statements. */
  get onCluster(): string {
    return this.cluster ? ` ON CLUSTER ${this.cluster}` : '';
  }

  /** The table that holds the rows of `table` on this server: `<table>_local` in cluster mode. */
  storageTable(table: string): string {
    return this.cluster ? `${table}_local` : table;
  }

  /** The tables of the database on this server (storage names: see storageTable). */
  async tableNames(): Promise<Set<string>> {
    const rows = await this.query<{ name: string }>(
      `SELECT name FROM system.tables WHERE database = ${stringLiteral(this.database)}`,
    );
    return new Set(rows.map((r) => r.name));
  }

  /** A system table of every node of the cluster (or of this server): e.g. `parts`. */
  systemTable(table: string): string {
    return this.cluster ? `cluster(${this.cluster}, system, ${table})` : `system.${table}`;
  }

  /**
   * A handle on a server whose version is known, made without a request: it connects at
   * its first query. For the components' unit tests, which run where no ClickHouse is
   * (a closed port: every request fails as with a server that is down).
   */
  static withKnownVersion(options: ClickHouseOptions, version: string): ClickHouse {
    return new ClickHouse(
      ClickHouse.client(options),
      withoutCredentials(options.url),
      options.database,
      featuresForVersion(version),
      options.cluster,
      options.replicated === true,
    );
  }

  private static client(options: ClickHouseOptions): ClickHouseClient {
    // A user and password in the URL (http://writer:secret@host:8123, the usual way to give
    // them in CLICKHOUSE_URL) win over the options; passed apart, so that the client does
    // not warn on stderr that the URL overrides them.
    const { url, username, password } = credentialsOf(options);
    return createClient({
      url,
      username,
      password,
      request_timeout: options.requestTimeoutMs ?? 30_000,
      // The client's own JSON handling stays out of the insert path; see insertRowBinary.
      compression: { request: false, response: false },
      // Failures surface as our own errors; the client's console warnings would repeat them.
      log: { level: ClickHouseLogLevel.OFF },
    });
  }

  /** Connects and detects the server version; fails with one line naming the URL. */
  static async connect(options: ClickHouseOptions): Promise<ClickHouse> {
    // Names checked before any request: a bad one is the configuration's fault, not the server's.
    identifier(options.database, 'database name (--database, DISTLOG_DATABASE or clickhouse.database)');
    if (options.cluster !== undefined) identifier(options.cluster, 'cluster name (clickhouse.cluster)');
    const client = ClickHouse.client(options);
    try {
      const ping = await client.ping();
      if (!ping.success) throw ping.error;
      const rs = await client.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' });
      const [{ v }] = (await rs.json()) as Array<{ v: string }>;
      const ch = new ClickHouse(
        client,
        withoutCredentials(options.url),
        options.database,
        featuresForVersion(v),
        options.cluster,
        options.replicated === true,
      );
      ch.serialStatements = rs.response_headers[SERIAL_HEADER.toLowerCase()] === '1';
      if (ch.replicated && !ch.cluster)
        throw new ClusterConfigError(
          'replicated tables need a cluster (clickhouse.cluster): they live on its shards',
        );
      // Servers since 19.x refuse an insert touching over 100 partitions (days) by default: a
      // batch of back-dated records would then be refused for ever. Distlog's inserts lift it.
      const rs2 = await client.query({
        query: `SELECT count() AS n FROM system.settings WHERE name = 'max_partitions_per_insert_block'`,
        format: 'JSONEachRow',
      });
      const [{ n }] = (await rs2.json()) as Array<{ n: string }>;
      if (Number(n) > 0) ch.insertSettings.max_partitions_per_insert_block = 0;
      if (ch.cluster) await ch.checkCluster();
      if (ch.replicated) await ch.checkReplicaMacros();
      return ch;
    } catch (err) {
      await client.close().catch(() => undefined);
      if (err instanceof ClusterConfigError) throw err;
      throw new ClickHouseUnavailableError(options.url, err);
    }
  }

  /** The shards of the cluster, from `system.clusters`. */
  async shards(): Promise<Array<{ shard: number; host: string; port: number }>> {
    if (!this.cluster) return [];
    const rows = await this.query<{ shard_num: number; host_address: string; port: number }>(
      `SELECT shard_num, host_address, port FROM system.clusters WHERE cluster = '${this.cluster}' AND replica_num = 1 ORDER BY shard_num`,
    );
    return rows.map((r) => ({ shard: Number(r.shard_num), host: r.host_address, port: Number(r.port) }));
  }

  private async checkCluster(): Promise<void> {
    const known = await this.query<{ cluster: string }>('SELECT DISTINCT cluster FROM system.clusters');
    if (!known.some((k) => k.cluster === this.cluster))
      throw new ClusterConfigError(
        `cluster ${JSON.stringify(this.cluster)} is not defined in the remote_servers of ClickHouse at ${this.url}` +
          (known.length ? ` (it has: ${known.map((k) => k.cluster).join(', ')})` : ' (it has no clusters)'),
      );
  }

  /** Replicated tables name their ZooKeeper path and replica by the `shard` and `replica` macros. */
  private async checkReplicaMacros(): Promise<void> {
    const [size] = await this.query<{ servers: string; shards: string }>(
      `SELECT count() AS servers, uniqExact(shard_num) AS shards FROM system.clusters WHERE cluster = '${this.cluster}'`,
    );
    const count = (fn: string) =>
      this.query<{ n: string }>(
        `SELECT count() AS n FROM ${fn}(${this.cluster}, system, macros) WHERE macro IN ('shard', 'replica')`,
      );
    let found: number;
    let expected: number;
    try {
      found = Number((await count('clusterAllReplicas'))[0].n);
      expected = Number(size.servers) * 2;
    } catch {
      // Before clusterAllReplicas (ClickHouse 20.x): one replica of each shard answers.
      found = Number((await count('cluster'))[0].n);
      expected = Number(size.shards) * 2;
    }
    if (found < expected)
      throw new ClusterConfigError(
        `replicated tables need the macros {shard} and {replica} on every server of cluster ${this.cluster} ` +
          `(<macros><shard>…</shard><replica>…</replica></macros> in each server's configuration); ` +
          `found ${found} of ${expected}`,
      );
  }

  /** `params`: the values of `{name:Type}` placeholders (SqlValues), on servers that have them. */
  async query<T>(
    sql: string,
    settings: Record<string, string | number> = {},
    params?: Record<string, string>,
  ): Promise<T[]> {
    const rs = await this.client.query({
      query: sql,
      format: 'JSONEachRow',
      clickhouse_settings: settings,
      ...(params && Object.keys(params).length > 0 ? { query_params: params } : {}),
    });
    return (await rs.json()) as T[];
  }

  /** The string values of one query (see SqlValues): parameters where the server has them. */
  values(): SqlValues {
    return new SqlValues(this.features.queryParameters, this.features.skipIndexes, this.features.dateTime64);
  }

  async command(sql: string, settings: Record<string, string | number> = {}): Promise<void> {
    await this.client.command({ query: sql, clickhouse_settings: settings });
  }

  /** Settings every insert carries (see connect()). */
  readonly insertSettings: Record<string, number> = {};

  private writeSettings(): Record<string, number> {
    // Through a Distributed table, answer only once every shard has its rows.
    return { ...this.insertSettings, ...(this.cluster ? { insert_distributed_sync: 1 } : {}) };
  }

  /** Inserts pre-encoded RowBinary bytes (see sinks/clickhouse/row-binary.ts). */
  async insertRowBinary(
    table: string,
    columns: readonly string[],
    bytes: Buffer,
    /** Names the insert in system.processes (batch-id.ts waits for an uncertain one to end). */
    queryId?: string,
    /** A comment in the query, shown in system.processes while it runs (request-ids.ts). */
    comment = '',
  ): Promise<void> {
    const columnList = columns.map((c) => '`' + c + '`').join(', ');
    const result = await this.client.exec({
      query: `INSERT INTO ${this.database}.${identifier(table, 'table name')} (${columnList}) ${comment ? `${comment} ` : ''}FORMAT RowBinary`,
      values: Readable.from([bytes], { objectMode: false }),
      ...(queryId ? { query_id: queryId } : {}),
      clickhouse_settings: this.writeSettings(),
    });
    // The response body must be consumed to free the connection.
    for await (const _chunk of result.stream) void _chunk;
  }

  /** Inserts rows as JSONEachRow (small, infrequent writes: metrics, definitions). */
  async insertJson(table: string, rows: readonly Record<string, unknown>[]): Promise<void> {
    if (rows.length === 0) return;
    await this.client.insert({
      table: `${this.database}.${identifier(table, 'table name')}`,
      values: rows as Record<string, unknown>[],
      format: 'JSONEachRow',
      clickhouse_settings: this.writeSettings(),
    });
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

/** The URL without its user and password, and the user and password it or the options give. */
export function credentialsOf(options: Pick<ClickHouseOptions, 'url' | 'username' | 'password'>): {
  url: string;
  username: string;
  password: string;
} {
  let parsed: URL | undefined;
  try {
    parsed = new URL(options.url);
  } catch {
    // Not a URL: the client says so, naming it.
  }
  const fromUrl = parsed !== undefined && (parsed.username !== '' || parsed.password !== '');
  return {
    url: fromUrl ? withoutCredentials(options.url) : options.url,
    username:
      fromUrl && parsed!.username ? decodeURIComponent(parsed!.username) : (options.username ?? 'default'),
    password: fromUrl ? decodeURIComponent(parsed!.password) : (options.password ?? ''),
  };
}
