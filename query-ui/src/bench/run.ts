// `npm run bench -w @distlog/query-ui`: with BENCH_ROWS (default 10 000 000) generated
// records in ClickHouse (spread over 24 h, 20 services, traces of 10 records), the time
// to the first page of a search by service + severity + time range, by text, and of a
// trace lookup — through the real HTTP API, medians of BENCH_RUNS (default 9) runs.
import {
  ClickHouse,
  forEachClickHouseTarget,
  applySchema,
  loadConfigFile,
  DEFAULT_CONFIG_FILE,
} from '@distlog/collector';
import { buildApp } from '../server/app';

const ROWS = Number(process.env.BENCH_ROWS ?? 10_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 9);

/** Both ClickHouse lines in one run (see forEachClickHouseTarget: BENCH_TARGETS, CLICKHOUSE_URL). */
async function main(): Promise<void> {
  await forEachClickHouseTarget(benchTarget);
}

async function benchTarget(url: string, label: string): Promise<void> {
  const database = `distlog_query_bench_${Date.now()}`;
  const ch = await ClickHouse.connect({ url, database, requestTimeoutMs: 600_000 });
  try {
    await applySchema(ch, loadConfigFile(DEFAULT_CONFIG_FILE).tiers);
    const now = Math.floor(Date.now() / 1000);
    const started = performance.now();
    // Generated inside ClickHouse: 24 h of records, newest at `now`; the trace_index view fills as for real inserts.
    await ch.command(`
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
        concat('request handled: GET /orders/', toString(number % 100000), ' -> ', toString(200 + number % 5), ' for user-', toString(number % 7919)) AS Body,
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
        toUInt32(0) AS DroppedAttributesCount
      FROM system.numbers LIMIT ${ROWS}`);
    const loadSeconds = (performance.now() - started) / 1000;

    const app = await buildApp({ ch });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const [{ traceId }] = await ch.query<{ traceId: string }>(
      `SELECT lower(hex(MD5(toString(intDiv(${Math.floor(ROWS / 3)}, 10))))) AS traceId`,
    );
    const cases: Array<[string, string, number]> = [
      [
        'search: service + minSeverity=WARN + last 1 h, first page',
        '/api/search?service=service-7&minSeverity=WARN&since=1h&limit=100',
        300,
      ],
      ['search: service, last 24 h, first page', '/api/search?service=service-3&since=24h&limit=100', 300],
      [
        'search: text in message, last 1 h, first page',
        `/api/search?text=${encodeURIComponent('GET /orders/4242 ')}&since=1h&limit=100`,
        300,
      ],
      [
        'search: text in message, last 24 h, first page',
        `/api/search?text=${encodeURIComponent('for user-4242')}&since=24h&limit=100`,
        300,
      ],
      ['histogram: all services, last 24 h', '/api/histogram?since=24h&buckets=60', 300],
      ['trace lookup (10 records)', `/api/trace/${traceId}`, 100],
    ];
    const rows: Array<Record<string, string>> = [];
    for (const [name, route, goal] of cases) {
      const times: number[] = [];
      let count = 0;
      for (let i = 0; i < RUNS + 1; i++) {
        const t = performance.now();
        const res = await fetch(base + route);
        const body = (await res.json()) as { records?: unknown[]; buckets?: unknown[] };
        if (!res.ok) throw new Error(`${route}: HTTP ${res.status} ${JSON.stringify(body)}`);
        if (i > 0) times.push(performance.now() - t); // the first run warms caches
        count = (body.records ?? body.buckets ?? []).length;
      }
      times.sort((a, b) => a - b);
      const median = times[Math.floor(times.length / 2)];
      rows.push({
        query: name,
        'median ms': median.toFixed(1),
        'min ms': times[0].toFixed(1),
        'max ms': times[times.length - 1].toFixed(1),
        results: String(count),
        goal: `< ${goal} ms`,
        met: median < goal ? 'yes' : 'NO',
      });
    }
    console.log(
      `\n${ROWS} records over 24 h (generated in ${loadSeconds.toFixed(1)} s), ClickHouse ${ch.features.version} (${label}), ${RUNS} runs each\n`,
    );
    console.table(rows);
    await app.close();
    await ch.command(`DROP DATABASE ${database}`);
  } finally {
    await ch.close();
  }
}

void main();
