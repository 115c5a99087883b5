import { Readable } from 'node:stream';
import { ClickHouseClient, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { ServerFeatures, featuresForVersion } from './server-features';
import { identifier } from './sql';

export interface ClickHouseOptions {
  /** HTTP interface, e.g. http://127.0.0.1:8123. */
  url: string;
  username?: string;
  password?: string;
  /** Database holding Distlog's tables. */
  database: string;
  /** Per-request timeout (ms). Default 30 000. */
  requestTimeoutMs?: number;
}

export class ClickHouseUnavailableError extends Error {
  constructor(url: string, cause: unknown) {
    super(`ClickHouse at ${url} is unreachable: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'ClickHouseUnavailableError';
  }
}

/** Distlog's access to one ClickHouse server: queries, commands and RowBinary inserts. */
export class ClickHouse {
  readonly database: string;
  private constructor(
    private readonly client: ClickHouseClient,
    readonly url: string,
    database: string,
    readonly features: ServerFeatures,
  ) {
    this.database = identifier(database, 'database name');
  }

  /** Connects and detects the server version; fails with one line naming the URL. */
  static async connect(options: ClickHouseOptions): Promise<ClickHouse> {
    const client = createClient({
      url: options.url,
      username: options.username ?? 'default',
      password: options.password ?? '',
      request_timeout: options.requestTimeoutMs ?? 30_000,
      // The client's own JSON handling stays out of the insert path; see insertRowBinary.
      compression: { request: false, response: false },
      // Failures surface as our own errors; the client's console warnings would repeat them.
      log: { level: ClickHouseLogLevel.OFF },
    });
    try {
      const ping = await client.ping();
      if (!ping.success) throw ping.error;
      const rs = await client.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' });
      const [{ v }] = (await rs.json()) as Array<{ v: string }>;
      return new ClickHouse(client, options.url, options.database, featuresForVersion(v));
    } catch (err) {
      await client.close().catch(() => undefined);
      throw new ClickHouseUnavailableError(options.url, err);
    }
  }

  async query<T>(sql: string, settings: Record<string, string | number> = {}): Promise<T[]> {
    const rs = await this.client.query({ query: sql, format: 'JSONEachRow', clickhouse_settings: settings });
    return (await rs.json()) as T[];
  }

  async command(sql: string): Promise<void> {
    await this.client.command({ query: sql });
  }

  /** Inserts pre-encoded RowBinary bytes (see sinks/clickhouse/row-binary.ts). */
  async insertRowBinary(table: string, columns: readonly string[], bytes: Buffer): Promise<void> {
    const columnList = columns.map((c) => '`' + c + '`').join(', ');
    const result = await this.client.exec({
      query: `INSERT INTO ${this.database}.${identifier(table, 'table name')} (${columnList}) FORMAT RowBinary`,
      values: Readable.from([bytes], { objectMode: false }),
    });
    // The response body must be consumed to free the connection.
    for await (const _chunk of result.stream) void _chunk;
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
