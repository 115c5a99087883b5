import http from 'node:http';
import { mkdirSync, promises as fs } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { SERIAL_HEADER } from '../server-features';

/** The part of chDB's Session that the store uses (the `chdb` package, loaded by the caller). */
export interface ChdbSession {
  queryAsync(query: string, opts?: { format?: string }): Promise<{ bytes(): Uint8Array }>;
  queryBindAsync(query: string, params: object, opts?: { format?: string }): Promise<{ bytes(): Uint8Array }>;
  close(): void;
}

export interface ChdbHttpOptions {
  host: string;
  port: number;
  /** Where insert bodies are staged for `FROM INFILE` (inside the store's folder). */
  stagingDir: string;
}

/**
 * ClickHouse's HTTP interface — the part Distlog, `@clickhouse/client` and curl use — in
 * front of an embedded chDB engine, so that every process (collectors, query servers,
 * the `distlog` verbs, the tests) reaches the embedded store exactly as it reaches a
 * server: by URL.
 *
 *  - `GET /ping` → `Ok.`; `?query=` and/or a body, as the server takes them: with both,
 *    an INSERT's body is its data (staged in a file and read with `FROM INFILE`, which
 *    takes every format — RowBinary included — with no copy into the SQL text).
 *  - `param_<name>` → `{name:Type}` query parameters; `default_format` (else TabSeparated).
 *  - `readonly=1` (the SQL console): the query runs as one SELECT wrapped in
 *    `SELECT * FROM (…) SETTINGS readonly = 1, …`, so that nothing but one read runs
 *    and table functions that touch files or the network are refused; a query that
 *    tries to set `readonly` itself is refused before it runs.
 *  - errors: HTTP 500 (400 for refused input), the engine's `Code: N. DB::Exception: …`
 *    text, and `X-ClickHouse-Exception-Code`, as the server answers.
 *
 * chDB runs one statement at a time per session; requests are queued in arrival order.
 */
export class ChdbHttpServer {
  private server: http.Server | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private staged = 0;
  /** The engine's settings and their defaults (read once): what a request's URL may set. */
  private engineSettings: Map<string, string> | undefined;

  constructor(
    private readonly session: ChdbSession,
    private readonly options: ChdbHttpOptions,
  ) {
    mkdirSync(options.stagingDir, { recursive: true });
  }

  async start(): Promise<number> {
    const server = http.createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 65_000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  /** Stops taking requests, lets the queued ones finish. Safe to call twice. */
  async shutdown(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    await this.queue.catch(() => undefined);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://store');
    if (url.pathname === '/ping' || (url.pathname === '/' && req.method === 'GET' && !url.search)) {
      res.setHeader('Content-Type', 'text/plain; charset=UTF-8');
      return void res.end('Ok.\n');
    }
    if (url.pathname !== '/') return fail(res, 404, 0, `no route for ${url.pathname}`);
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch (err) {
      return fail(res, 400, 0, `cannot read the request body: ${(err as Error).message}`);
    }
    const params: Record<string, string> = {};
    const settings: Record<string, string> = {};
    /** Other engine settings the URL names (e.g. max_partitions_per_insert_block): set for this statement only. */
    const other: Array<[string, string]> = [];
    for (const [key, value] of url.searchParams) {
      // The HTTP interface takes parameter values in the escaped (TabSeparated) form — what
      // clients send (\\, \', \t, \n …); chDB binds values as they are.
      if (key.startsWith('param_')) params[key.slice(6)] = unescapeTabSeparated(value);
      else if (QUERY_SETTINGS.has(key)) settings[key] = value;
      else if (/^[a-z][a-z0-9_]*$/.test(key) && !HTTP_ONLY.has(key)) other.push([key, value]);
    }
    const format = url.searchParams.get('default_format') ?? 'TabSeparated';
    const database = url.searchParams.get('database') ?? req.headers['x-clickhouse-database'];
    let sql = url.searchParams.get('query');
    let staged: string | undefined;
    if (sql === null) sql = body.toString('utf8');
    else if (body.length > 0) {
      const insert = INSERT_WITH_FORMAT.exec(sql);
      if (insert) {
        staged = path.join(this.options.stagingDir, `insert-${process.pid}-${this.staged++}.data`);
        await fs.writeFile(staged, body);
        sql = `${insert[1]} FROM INFILE '${staged}' FORMAT ${insert[2]}`;
      } else sql = `${sql}\n${body.toString('utf8')}`;
    }
    const run = async (): Promise<Uint8Array> => {
      if (typeof database === 'string' && database !== '' && database !== 'default')
        await this.session.queryAsync(`USE ${quoteIdentifier(database)}`);
      else await this.session.queryAsync('USE default');
      const readOnly = settings.readonly !== undefined && settings.readonly !== '0';
      const statement = readOnly ? await this.readOnly(sql!, settings) : sql!;
      // As the server does, the URL's settings hold for this statement (the session is shared:
      // they are set before it and put back after it).
      const known = readOnly || other.length === 0 ? [] : await this.known(other);
      for (const [key, value] of known)
        await this.session.queryAsync(`SET ${key} = ${settingLiteral(value)}`);
      try {
        const result =
          Object.keys(params).length > 0
            ? await this.session.queryBindAsync(statement, params, { format })
            : await this.session.queryAsync(statement, { format });
        return result.bytes();
      } finally {
        for (const [key] of known)
          await this.session.queryAsync(`SET ${key} = ${settingLiteral(this.engineSettings!.get(key)!)}`);
      }
    };
    const done = this.queue.then(run, run);
    this.queue = done.catch(() => undefined);
    try {
      const bytes = await done;
      res.setHeader('Content-Type', 'text/plain; charset=UTF-8');
      res.setHeader('X-ClickHouse-Format', format);
      res.setHeader('X-ClickHouse-Summary', '{}');
      res.setHeader(SERIAL_HEADER, '1');
      res.end(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const code = Number(/^Code: (\d+)\./.exec(message)?.[1] ?? 0);
      fail(res, err instanceof RefusedQuery ? 400 : 500, code, message);
    } finally {
      if (staged) await fs.rm(staged, { force: true });
    }
  }

  /** The URL settings the engine has (others — the client's HTTP options — are not settings). */
  private async known(asked: Array<[string, string]>): Promise<Array<[string, string]>> {
    if (!this.engineSettings) {
      const bytes = (
        await this.session.queryAsync('SELECT name, value FROM system.settings', { format: 'JSONEachRow' })
      ).bytes();
      this.engineSettings = new Map(
        Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
          .toString('utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => {
            const { name, value } = JSON.parse(line) as { name: string; value: string };
            return [name, value];
          }),
      );
    }
    return asked.filter(([key]) => this.engineSettings!.has(key));
  }

  /**
   * One SELECT, read-only, whatever its text says: normalized by the engine's own parser
   * (which refuses several statements), refused if it names the `readonly` setting, then
   * wrapped so that the outer SETTINGS hold for all of it.
   */
  private async readOnly(sql: string, settings: Record<string, string>): Promise<string> {
    const text = sql.replace(TRAILING_FORMAT, '').replace(/;\s*$/, '');
    let normalized: string;
    try {
      const bytes = (
        await this.session.queryBindAsync(
          'SELECT formatQuerySingleLine({q:String})',
          { q: text },
          { format: 'TabSeparatedRaw' },
        )
      ).bytes();
      normalized = Buffer.from(bytes).toString('utf8');
    } catch (err) {
      throw new RefusedQuery((err as Error).message);
    }
    if (!/^\s*(SELECT|WITH)\b/i.test(normalized))
      throw new RefusedQuery(
        'Code: 164. DB::Exception: Cannot execute query in readonly mode: only one SELECT is allowed. (READONLY)',
      );
    if (/\breadonly\b/i.test(normalized))
      throw new RefusedQuery(
        'Code: 164. DB::Exception: the readonly setting cannot be changed here. (READONLY)',
      );
    const format = TRAILING_FORMAT.exec(sql)?.[1];
    const applied = Object.entries({ ...settings, readonly: '1' })
      .map(([k, v]) => `${k} = ${/^\d+$/.test(v) ? v : `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`}`)
      .join(', ');
    return `SELECT * FROM (${text}) SETTINGS ${applied}${format ? ` FORMAT ${format}` : ''}`;
  }
}

class RefusedQuery extends Error {}

/** Settings the store applies to a read-only query; others (HTTP-only ones the client sends) are ignored. */
const QUERY_SETTINGS = new Set(['readonly', 'max_execution_time', 'max_result_rows', 'result_overflow_mode']);
/** Query-string keys of the HTTP interface that are not settings. */
const HTTP_ONLY = new Set([
  'query',
  'database',
  'default_format',
  'query_id',
  'session_id',
  'user',
  'password',
]);

/** A setting's value as SET takes it: numbers as they are, anything else quoted. */
function settingLiteral(value: string): string {
  return /^-?\d+(\.\d+)?$/.test(value) ? value : `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

const INSERT_WITH_FORMAT = /^\s*(INSERT\s+INTO\s+[\s\S]*?)\s+FORMAT\s+(\w+)\s*$/i;
const TRAILING_FORMAT = /\s+FORMAT\s+(\w+)\s*;?\s*$/i;

function quoteIdentifier(name: string): string {
  return '`' + name.replace(/\\/g, '\\\\').replace(/`/g, '\\`') + '`';
}

function fail(res: http.ServerResponse, status: number, code: number, message: string): void {
  if (res.headersSent) return void res.destroy();
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=UTF-8');
  res.setHeader('X-ClickHouse-Exception-Code', String(code));
  res.end(message.endsWith('\n') ? message : message + '\n');
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  const encoding = String(req.headers['content-encoding'] ?? '').toLowerCase();
  return encoding === 'gzip' ? zlib.gunzipSync(body) : body;
}

const ESCAPES: Record<string, string> = {
  b: '\b',
  f: '\f',
  r: '\r',
  n: '\n',
  t: '\t',
  '0': '\0',
  a: '\x07',
  v: '\v',
};

/** A value in ClickHouse's escaped text form (TabSeparated) → the value itself. */
export function unescapeTabSeparated(text: string): string {
  if (!text.includes('\\')) return text;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c !== '\\' || i === text.length - 1) {
      out += c;
      continue;
    }
    const next = text[++i];
    if (next === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      out += String.fromCharCode(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else out += ESCAPES[next] ?? next;
  }
  return out;
}
