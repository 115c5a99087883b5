import http from 'node:http';
import { ClickHouse } from '../storage/clickhouse';
import { timeColumnTypes } from '../storage/schema';
import { createTestDatabase, dropTestDatabase, testClickHouseUrl } from './test-database';

/**
 * For tests: a real HTTP proxy in front of a ClickHouse server that does to INSERTs what a
 * network or a busy server does — cuts an answer after the insert completed, swallows an
 * insert before it arrives, or holds inserts until the test lets them go. Every other
 * request (queries, the writer's checks) passes through untouched.
 */
export class InsertProxy {
  /** Answers to INSERTs to cut (the insert itself goes through and completes). */
  cutAnswers = 0;
  /** INSERTs to swallow before they reach ClickHouse (the connection is reset). */
  dropInserts = 0;
  /** While true, INSERTs wait here (bodies read, not yet forwarded) until release(). */
  holdInserts = false;
  private readonly held: Array<() => void> = [];
  private readonly server: http.Server;

  private constructor(target: URL) {
    this.server = http.createServer((req, res) => {
      const isInsert = /INSERT/.test(decodeURIComponent(req.url ?? ''));
      if (isInsert && this.dropInserts > 0) {
        this.dropInserts--;
        req.socket.destroy();
        return;
      }
      const body: Buffer[] = [];
      req.on('data', (c: Buffer) => body.push(c));
      req.on('end', () => {
        const bytes = Buffer.concat(body);
        const forward = () => this.forward(target, req, res, bytes, isInsert);
        if (isInsert && this.holdInserts) this.held.push(forward);
        else forward();
      });
    });
  }

  static async start(target: string): Promise<InsertProxy> {
    const proxy = new InsertProxy(new URL(target));
    await new Promise<void>((r) => proxy.server.listen(0, '127.0.0.1', r));
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  /** INSERTs waiting here now. */
  get holding(): number {
    return this.held.length;
  }

  /** Stops holding and forwards every INSERT held so far. */
  release(): void {
    this.holdInserts = false;
    for (const forward of this.held.splice(0)) forward();
  }

  async close(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  private forward(
    target: URL,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    body: Buffer,
    isInsert: boolean,
  ): void {
    const upstream = http.request(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () => {
          if (isInsert && this.cutAnswers > 0) {
            this.cutAnswers--;
            req.socket.destroy(); // the insert is done; its answer never arrives
            return;
          }
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          res.end(Buffer.concat(chunks));
        });
      },
    );
    upstream.on('error', () => res.destroy());
    upstream.end(body);
  }
}

/**
 * A fresh test database, reached both directly (`direct`) and through an InsertProxy
 * (`ch`); `timeNanos`: its `logs.Timestamp` is DateTime64(9). `close()` drops it all.
 */
export async function proxiedTestDatabase(prefix: string): Promise<{
  direct: ClickHouse;
  ch: ClickHouse;
  proxy: InsertProxy;
  timeNanos: boolean;
  close: () => Promise<void>;
}> {
  const direct = await createTestDatabase(prefix);
  const proxy = await InsertProxy.start(testClickHouseUrl());
  const ch = await ClickHouse.connect({ url: proxy.url, database: direct.database });
  const timeNanos = (await timeColumnTypes(direct, ['logs'])).get('logs') === 'DateTime64(9)';
  const close = async () => {
    await ch.close();
    await proxy.close();
    await dropTestDatabase(direct);
  };
  return { direct, ch, proxy, timeNanos, close };
}

export type ProxiedTestDatabase = Awaited<ReturnType<typeof proxiedTestDatabase>>;

/**
 * For a test file: a proxied test database made before its tests and dropped after them
 * (jest's beforeAll / afterAll); the object returned is filled in before the first test.
 */
export function useProxiedTestDatabase(prefix: string): ProxiedTestDatabase {
  const db = {} as ProxiedTestDatabase;
  beforeAll(async () => {
    Object.assign(db, await proxiedTestDatabase(prefix));
  });
  afterAll(() => db.close?.());
  return db;
}
