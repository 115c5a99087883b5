import type { FastifyInstance } from 'fastify';
import type { Authenticator, TlsConfig } from '@distlog/collector/auth';
import type { ClickHouse } from '@distlog/collector/storage';
import type { CollectorStatus } from '@distlog/collector';
import type { ApiStatus } from '../../shared/api-types';
import { anyUserToken, getFromCollector, runningCollectors, ALIVE_SECONDS } from '../collectors';

/** How long a collector may take to answer before it is listed as unreachable. */
const STATUS_TIMEOUT_MS = 3_000;

/**
 * `GET /api/status`: every running collector (the `collectors` table) with its own
 * `/v1/status` — version, readiness, spool and set-aside batches, record counts — asked
 * with the caller's token; and the problems an operator must act on, in words.
 */
export function registerStatusRoute(
  app: FastifyInstance,
  options: { ch: ClickHouse; auth: Authenticator; tls?: TlsConfig },
): void {
  app.get('/api/status', async (req) => {
    const token = req.caller?.token ?? anyUserToken(options.auth);
    let running: Map<string, string>;
    try {
      running = await runningCollectors(options.ch);
    } catch (err) {
      const message = String((err as Error).message).split('\n')[0];
      return {
        collectors: [],
        problems: [`cannot read the list of collectors from ClickHouse: ${message}`],
      } satisfies ApiStatus;
    }
    const collectors = await Promise.all(
      [...running].map(async ([id, url]) => {
        try {
          const status = await fetchStatus(new URL('/v1/status', url), token, options.tls);
          return { id, url, status };
        } catch (err) {
          return { id, url, error: (err as Error).message };
        }
      }),
    );
    collectors.sort((a, b) => a.url.localeCompare(b.url));
    const problems: string[] = [];
    if (collectors.length === 0)
      problems.push(`no collector has registered in ClickHouse in the last ${ALIVE_SECONDS} s`);
    for (const c of collectors) {
      if (c.error !== undefined) problems.push(`collector ${c.id} at ${c.url} does not answer: ${c.error}`);
      else if (c.status) {
        const s = c.status;
        if (!s.ready)
          problems.push(`collector ${c.id} is not ready${s.spool?.full ? ': its spool is full' : ''}`);
        if (s.spool && s.spool.setAsideBatches > 0)
          problems.push(
            `collector ${c.id} set aside ${s.spool.setAsideBatches} batches ClickHouse refused (see its log; ` +
              'fix the table, then reload or restart it)',
          );
        else if (s.spool && s.spool.batches > 0)
          problems.push(
            `collector ${c.id} has ${s.spool.batches} batches in its spool, waiting for ClickHouse`,
          );
        for (const t of s.tables ?? []) {
          const said = `table ${s.clickhouse.database}.${t.table}`;
          if (problems.some((p) => p.startsWith(said))) continue; // several collectors, one table
          if (!t.exists)
            problems.push(
              `${said} (tier ${t.tier}) is missing (dropped?): \`distlog schema apply\` makes it again`,
            );
          else if (t.missingColumns.length > 0)
            problems.push(
              `${said} (tier ${t.tier}) lacks columns the collector writes: ${t.missingColumns.join(', ')}; ` +
                'its inserts are refused (`distlog schema status`)',
            );
        }
        if (s.tablesError)
          problems.push(`collector ${c.id} cannot ask ClickHouse about its tables: ${s.tablesError}`);
      }
    }
    return { collectors, problems } satisfies ApiStatus;
  });
}

function fetchStatus(
  target: URL,
  token: string | undefined,
  tlsConfig: TlsConfig | undefined,
): Promise<CollectorStatus> {
  return new Promise((resolve, reject) => {
    const request = getFromCollector(target, token, tlsConfig, { Accept: 'application/json' });
    request.setTimeout(STATUS_TIMEOUT_MS, () =>
      request.destroy(new Error(`no answer within ${STATUS_TIMEOUT_MS} ms`)),
    );
    request.on('error', reject);
    request.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('error', reject);
      res.on('end', () => {
        if (res.statusCode !== 200) {
          // A collector from before /v1/status answers 404.
          const said = /"error":"([^"]*)"/.exec(body)?.[1];
          return reject(
            new Error(
              `HTTP ${res.statusCode}${said ? `: ${said}` : res.statusCode === 404 ? ' (a collector older than distlog status?)' : ''}`,
            ),
          );
        }
        try {
          resolve(JSON.parse(body) as CollectorStatus);
        } catch {
          reject(new Error('its answer is not JSON'));
        }
      });
    });
  });
}
