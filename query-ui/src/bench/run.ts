// `npm run bench -w @distlog/query-ui`: with BENCH_ROWS (default 10 000 000) generated
// records in ClickHouse (spread over 24 h, 20 services, traces of 10 records), the time
// to the first page of a search by service + severity + time range, by text (a term in
// every record, one in 1 of 7 919, one in about 10 records of the whole set), of a
// histogram and of a trace lookup — through the real HTTP API, medians of BENCH_RUNS
// (default 9) runs, on both ClickHouse lines (BENCH_TARGETS). Goals: issue 16's for
// 100 M rows (BENCH_ROWS=100000000), tighter ones below that.
// BENCH_DATA_DIR=<dir> keeps the generated rows there for the next run (loading 100 M
// rows takes minutes); the queries then end at the newest generated record.
import { ClickHouse, forEachClickHouseTarget, applySchema } from '@distlog/collector/storage';
import { loadConfigFile, DEFAULT_CONFIG_FILE } from '@distlog/collector/config';
import { buildApp } from '../server/app';

const ROWS = Number(process.env.BENCH_ROWS ?? 10_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 9);
const KEEP = Boolean(process.env.BENCH_DATA_DIR);
/** In about 10 records of the whole set, whatever its size: found only by reading everything, or by an index. */
const RARE = 'deadlock-7x9q';
const BIG = ROWS >= 100_000_000;

/** Both ClickHouse lines in one run (see forEachClickHouseTarget: BENCH_TARGETS, CLICKHOUSE_URL). */
async function main(): Promise<void> {
  await forEachClickHouseTarget(benchTarget);
}

/** 24 h of records ending at `now`, generated inside ClickHouse; the materialized views fill as for real inserts. */
async function generate(ch: ClickHouse, database: string, now: number): Promise<number> {
  const started = performance.now();
  // From scratch: rows of an interrupted load would stay in the views' tables otherwise.
  await ch.command(`DROP DATABASE IF EXISTS ${database}`);
  await applySchema(ch, loadConfigFile(DEFAULT_CONFIG_FILE).tiers);
  await ch.command(
    `
      INSERT INTO ${database}.logs
      SELECT
        toDateTime(${now} - intDiv(number * 86400, ${ROWS})) AS Timestamp,
        toUInt64(${now} - intDiv(number * 86400, ${ROWS})) * 1000000000 + (number % 1000000) * 1000 AS TimeUnixNano,
        TimeUnixNano AS ObservedTimeUnixNano,
        [5, 9, 9, 9, 9, 9, 13, 17][number % 8 + 1] AS SeverityNumber,
        ['DEBUG', 'INFO', 'INFO', 'INFO', 'INFO', 'INFO', 'WARN', 'ERROR'][number % 8 + 1] AS SeverityText,
        concat('service-', toString(number % 20)) AS ServiceName,
        ['http', 'db', 'cache', 'queue'][number % 4 + 1] AS ScopeName,
        '1.0.0' AS ScopeVersion,
        '' AS EventName,
        concat('request handled: GET /orders/', toString(number % 100000), ' -> ', toString(200 + number % 5),
               ' for user-', toString(number % 7919),
               if(number % ${Math.max(1, Math.floor(ROWS / 10))} = 4242, ' ${RARE}', '')) AS Body,
        lower(hex(MD5(toString(intDiv(number, 10))))) AS TraceId,
        substring(lower(hex(MD5(toString(number)))), 1, 16) AS SpanId,
        toUInt8(1) AS TraceFlags,
        '' AS ResourceSchemaUrl,
        ['service.name', 'host.name'] AS \`ResourceAttributes.key\`,
        [ServiceName, concat('host-', toString(number % 5))] AS \`ResourceAttributes.value\`,
        emptyArrayString() AS \`ScopeAttributes.key\`,
        emptyArrayString() AS \`ScopeAttributes.value\`,
        ['http.method', 'http.route', 'http.status_code', 'user.id', 'duration_ms'] AS \`LogAttributes.key\`,
        ['GET', '/orders/:id', toString(200 + number % 5), concat('user-', toString(number % 7919)), toString(number % 97)] AS \`LogAttributes.value\`,
        toUInt32(0) AS DroppedAttributesCount,
        toUInt64(0) AS BatchId,
        toUInt64(0) AS RequestId,
        -- A stand-in for the collector's pattern id: the message without its numbers.
        cityHash64(replaceRegexpAll(Body, '[0-9]+', '')) AS PatternId
      FROM system.numbers LIMIT ${ROWS}`,
    // Insert blocks of a collector's size, not ClickHouse's 1 M rows: the materialized views
    // (on 18.16 the word index's) aggregate each block in memory.
    { max_block_size: 65536, min_insert_block_size_rows: 65536, min_insert_block_size_bytes: 0 },
  );
  return (performance.now() - started) / 1000;
}

/**
 * Waits until ClickHouse has no merge running on the bench's tables, as a store that has
 * been running a while: right after 100 M rows are generated, merges take the cores for
 * minutes (a trace lookup measured 108 ms then, 40 ms once they were done).
 */
async function settle(ch: ClickHouse, database: string): Promise<string> {
  const started = performance.now();
  for (;;) {
    const [{ n }] = await ch.query<{ n: string }>(
      `SELECT count() AS n FROM system.merges WHERE database = '${database}'`,
    );
    if (Number(n) === 0) break;
    if (performance.now() - started > 15 * 60_000)
      return 'merges still running after 15 min (measured anyway)';
    await new Promise((r) => setTimeout(r, 2000));
  }
  return `merges settled after ${((performance.now() - started) / 1000).toFixed(0)} s`;
}

async function benchTarget(url: string, label: string): Promise<void> {
  const database = KEEP ? `distlog_query_bench_${ROWS}` : `distlog_query_bench_${Date.now()}`;
  const ch = await ClickHouse.connect({ url, database, requestTimeoutMs: 3_600_000 });
  try {
    await applySchema(ch, loadConfigFile(DEFAULT_CONFIG_FILE).tiers);
    const [have] = await ch.query<{ n: string; newest: string }>(
      `SELECT count() AS n, toUInt32(max(Timestamp)) AS newest FROM ${database}.logs`,
    );
    let now = Math.floor(Date.now() / 1000);
    let load = 'kept from an earlier run';
    if (Number(have.n) === ROWS) now = Number(have.newest);
    else load = `generated in ${(await generate(ch, database, now)).toFixed(1)} s`;
    load += `, ${await settle(ch, database)}`;

    const app = await buildApp({ ch });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const [{ traceId }] = await ch.query<{ traceId: string }>(
      `SELECT lower(hex(MD5(toString(intDiv(${Math.floor(ROWS / 3)}, 10))))) AS traceId`,
    );
    const to = `&to=${now * 1000 + 999}`;
    const text = (term: string, since: string) =>
      `/api/search?text=${encodeURIComponent(term)}&since=${since}&limit=100${to}`;
    // [name, route, goal ms]; with 100 M rows the goals of issue 16, else tighter ones.
    const cases: Array<[string, string, number]> = [
      [
        'search: service + minSeverity=WARN + last 1 h, first page',
        `/api/search?service=service-7&minSeverity=WARN&since=1h&limit=100${to}`,
        BIG ? 50 : 300,
      ],
      [
        'search: service, last 24 h, first page',
        `/api/search?service=service-3&since=24h&limit=100${to}`,
        BIG ? 50 : 300,
      ],
      ['search: text in message, last 1 h, first page', text('GET /orders/4242 ', '1h'), BIG ? 1000 : 300],
      ['search: common text (every record), last 24 h', text('request HANDLED', '24h'), BIG ? 1000 : 300],
      ['search: text in 1 of 7 919, last 24 h', text('for user-4242', '24h'), BIG ? 1000 : 300],
      [`search: rare text (~10 records), last 24 h`, text(RARE, '24h'), 1000],
      ['histogram: all services, last 24 h', `/api/histogram?since=24h&buckets=60${to}`, BIG ? 100 : 300],
      ['trace lookup (10 records)', `/api/trace/${traceId}`, BIG ? 50 : 100],
      // Issue 21: the search language, facets with counts, log patterns.
      [
        'language: severity>=warn (two services) attribute, text, NOT, last 1 h',
        `/api/search?${new URLSearchParams({ q: 'severity>=warn (service:service-3 OR service:service-7) http.status_code>=203 handled -user.id:user-1', since: '1h', limit: '100' })}${to}`,
        BIG ? 1000 : 300,
      ],
      ['facets with counts, last 1 h', `/api/facets?since=1h${to}`, 300],
      ['facets with counts, last 24 h', `/api/facets?since=24h${to}`, BIG ? 3000 : 300],
      ['patterns, last 1 h', `/api/patterns?since=1h${to}`, 1000],
      ['patterns, last 24 h (a day)', `/api/patterns?since=24h${to}`, 1000],
    ];
    const rows: Array<Record<string, string>> = [];
    for (const [name, route, goal] of cases) {
      const times: number[] = [];
      let count = 0;
      for (let i = 0; i < RUNS + 1; i++) {
        const t = performance.now();
        const res = await fetch(base + route);
        const body = (await res.json()) as {
          records?: unknown[];
          buckets?: unknown[];
          patterns?: unknown[];
          counts?: { service: unknown[] };
        };
        if (!res.ok) throw new Error(`${route}: HTTP ${res.status} ${JSON.stringify(body)}`);
        if (i > 0) times.push(performance.now() - t); // the first run warms caches
        count = (body.patterns ?? body.counts?.service ?? body.records ?? body.buckets ?? []).length;
      }
      times.sort((a, b) => a - b);
      const median = times[Math.floor(times.length / 2)];
      rows.push({
        query: name,
        'median ms': median.toFixed(1),
        'min ms': times[0].toFixed(1),
        'max ms': times[times.length - 1].toFixed(1),
        results: String(count),
        goal: `≤ ${goal} ms`,
        met: median <= goal ? 'yes' : 'NO',
      });
    }
    console.log(
      `\n${ROWS} records over 24 h (${load}), ClickHouse ${ch.features.version} (${label}), ${RUNS} runs each\n`,
    );
    console.table(rows);
    await app.close();
    if (!KEEP) await ch.command(`DROP DATABASE ${database}`);
  } finally {
    await ch.close();
  }
}

void main();
