// `node dist/bench/metrics.js` (part of `npm run bench -w @distlog/query-ui`): a dashboard
// question over 400 days — p95 scope duration per service per day — answered from the
// declared metric's rollups (through the HTTP API, and as the Grafana usage panel's SQL)
// and from the raw records (the dashboard's query before metrics), in one run, on both
// ClickHouse lines. BENCH_METRIC_ROWS (default 10 000 000; the goal is for 100 000 000)
// `distlog.scope.end` records over 400 days go into the longterm tier; the rollups are
// made from them in ClickHouse with the collector's bucket function (the collector makes
// them as records arrive; minutes only for the last 15 days, as retention keeps them).
// BENCH_DATA_DIR keeps the data for the next run.
import { ClickHouse, applySchema, forEachClickHouseTarget, quantileSql } from '@distlog/collector/storage';
import { DEFAULT_CONFIG_FILE, loadConfigFile } from '@distlog/collector/config';
import { buildApp } from '../server/app';

const ROWS = Number(process.env.BENCH_METRIC_ROWS ?? 10_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 9);
const KEEP = Boolean(process.env.BENCH_DATA_DIR);
const DAYS = 400;
const GOAL_MS = 100;
const GAMMA = (1 + 0.01) / (1 - 0.01);

async function generate(ch: ClickHouse, database: string, now: number): Promise<number> {
  const started = performance.now();
  await ch.command(`DROP DATABASE IF EXISTS ${database}`);
  const config = loadConfigFile(DEFAULT_CONFIG_FILE);
  await applySchema(ch, config.tiers);
  const span = DAYS * 86_400;
  // 400 days in one statement: as many day partitions (servers that limit them, 19.x+, refuse past 100).
  const [limit] = await ch.query<{ n: string }>(
    `SELECT count() AS n FROM system.settings WHERE name = 'max_partitions_per_insert_block'`,
  );
  const settings = {
    max_block_size: 65536,
    min_insert_block_size_rows: 65536,
    min_insert_block_size_bytes: 0,
    ...(Number(limit.n) > 0 ? { max_partitions_per_insert_block: 1000 } : {}),
  };
  await ch.command(
    `INSERT INTO ${database}.longterm
     SELECT
       toDateTime(${now} - intDiv(number * ${span}, ${ROWS})) AS Timestamp,
       toUInt64(${now} - intDiv(number * ${span}, ${ROWS})) * 1000000000 + (number % 1000000) * 1000 AS TimeUnixNano,
       TimeUnixNano AS ObservedTimeUnixNano,
       toUInt8(9) AS SeverityNumber, 'INFO' AS SeverityText,
       concat('service-', toString(number % 20)) AS ServiceName,
       'distlog' AS ScopeName, '1.0.0' AS ScopeVersion, 'distlog.scope.end' AS EventName,
       'scope ended' AS Body,
       lower(hex(MD5(toString(intDiv(number, 10))))) AS TraceId,
       substring(lower(hex(MD5(toString(number)))), 1, 16) AS SpanId,
       toUInt8(1) AS TraceFlags, '' AS ResourceSchemaUrl,
       ['service.name'] AS \`ResourceAttributes.key\`, [ServiceName] AS \`ResourceAttributes.value\`,
       emptyArrayString() AS \`ScopeAttributes.key\`, emptyArrayString() AS \`ScopeAttributes.value\`,
       ['scope.name', 'scope.duration_ms'] AS \`LogAttributes.key\`,
       [['checkout', 'charge card', 'reserve stock', 'validate order'][number % 4 + 1],
        toString(round(exp((number * 7919 % 1000) / 125) / 10, 3))] AS \`LogAttributes.value\`,
       toUInt32(0) AS DroppedAttributesCount, toUInt64(0) AS BatchId, toUInt64(0) AS RequestId
     FROM system.numbers LIMIT ${ROWS}`,
    settings,
  );
  // The rollups the collector would have written: per minute, hour and day, service and
  // scope name, with the buckets of each level (sketch.ts: 1, 2 and 4 times as wide).
  const value = `toFloat64(LogAttributes.value[2])`;
  const levels: Array<[string, string, number, string]> = [
    ['metric_minutes', 'toStartOfMinute(Timestamp)', 1, `Timestamp >= toDateTime(${now - 15 * 86_400})`],
    ['metric_hours', 'toStartOfHour(Timestamp)', 2, '1'],
    ['metric_days', `toDateTime(intDiv(toUInt32(Timestamp), 86400) * 86400)`, 4, '1'],
  ];
  for (const [table, unit, width, where] of levels) {
    const bucket = `if(${value} >= 1e-9, toInt32(ceil(ceil(log(${value}) / log(${GAMMA})) / ${width})), toInt32(-2147483648))`;
    await ch.command(
      `INSERT INTO ${database}.${table}
       SELECT 'scope_duration_ms' AS Metric, T AS Time, concat(service, '\\x01', scope) AS Series,
              ['service.name', 'scope.name'] AS LabelKeys, [service, scope] AS LabelValues,
              toUInt16(1830) AS RetentionDays, n AS Count, s AS Sum,
              m.1 AS \`HistogramMap.Bucket\`, m.2 AS \`HistogramMap.Records\`
       FROM (
         SELECT ${unit} AS T, ServiceName AS service, LogAttributes.value[1] AS scope,
                count() AS n, sum(${value}) AS s, sumMap([${bucket}], [toUInt64(1)]) AS m
         FROM ${database}.longterm WHERE ${where} GROUP BY T, service, scope
       )`,
      settings,
    );
  }
  await ch.insertJson('metric_definitions', [
    {
      Name: 'scope_duration_ms',
      Kind: 'distribution',
      Value: 'scope.duration_ms',
      By: ['service.name', 'scope.name'],
      RetentionDays: 1830,
      Description: 'bench',
      Unit: 'ms',
      MatchText: '{}',
      Collector: 'bench',
      Version: Date.now(),
      UpdatedAt: Math.floor(Date.now() / 1000),
    },
  ]);
  return (performance.now() - started) / 1000;
}

async function median(
  run: () => Promise<unknown>,
): Promise<{ median: number; min: number; result: unknown }> {
  const times: number[] = [];
  let result: unknown;
  for (let i = 0; i < RUNS + 1; i++) {
    const t = performance.now();
    result = await run();
    if (i > 0) times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)], min: times[0], result };
}

async function benchTarget(url: string, label: string): Promise<void> {
  const database = KEEP ? `distlog_metric_bench_${ROWS}` : `distlog_metric_bench_${Date.now()}`;
  const ch = await ClickHouse.connect({ url, database, requestTimeoutMs: 3_600_000 });
  try {
    await applySchema(ch, loadConfigFile(DEFAULT_CONFIG_FILE).tiers);
    const [have] = await ch.query<{ n: string; newest: string }>(
      `SELECT count() AS n, toUInt32(max(Timestamp)) AS newest FROM ${database}.longterm`,
    );
    let now = Math.floor(Date.now() / 1000);
    let load = 'kept from an earlier run';
    if (Number(have.n) === ROWS) now = Number(have.newest);
    else load = `generated in ${(await generate(ch, database, now)).toFixed(1)} s`;
    const [sizes] = await ch.query<{ minutes: string; hours: string; days: string }>(
      `SELECT (SELECT count() FROM ${database}.metric_minutes) AS minutes, (SELECT count() FROM ${database}.metric_hours) AS hours,
              (SELECT count() FROM ${database}.metric_days) AS days`,
    );

    const app = await buildApp({ ch });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const from = now - DAYS * 86_400;
    const api = async () => {
      const res = await fetch(
        `${base}/api/metrics/scope_duration_ms?from=${from * 1000}&to=${(now + 1) * 1000}&by=service.name&step=1d&quantiles=p95`,
      );
      if (!res.ok) throw new Error(`API: HTTP ${res.status} ${await res.text()}`);
      const body = (await res.json()) as { series: Array<{ points: unknown[] }>; table: string };
      return `${body.series.length} series × ${body.series[0]?.points.length ?? 0} days from ${body.table}`;
    };
    const rollupSql = async () =>
      (
        await ch.query(
          `SELECT t, service, ${quantileSql(0.95, 4)} AS p95 FROM (
             SELECT toStartOfDay(Time) AS t, LabelValues[1] AS service, sum(Count) AS n,
                    groupArrayArray(HistogramMap.Bucket) AS bs, groupArrayArray(HistogramMap.Records) AS rs
             FROM ${database}.metric_days
             WHERE Metric = 'scope_duration_ms' AND Time >= toDateTime(${from}) AND Time <= toDateTime(${now})
             GROUP BY t, service) ORDER BY t`,
        )
      ).length + ' rows';
    const rawSql = async () =>
      (
        await ch.query(
          `SELECT toStartOfDay(Timestamp) AS t, ServiceName, quantile(0.95)(toFloat64OrZero(LogAttributes.value[indexOf(LogAttributes.key, 'scope.duration_ms')])) AS p95
           FROM ${database}.longterm
           WHERE Timestamp >= toDateTime(${from}) AND Timestamp <= toDateTime(${now}) AND EventName = 'distlog.scope.end'
           GROUP BY t, ServiceName ORDER BY t`,
        )
      ).length + ' rows';
    const rows: Array<Record<string, string>> = [];
    const raw = await median(rawSql);
    for (const [name, run] of [
      ['rollups via /api/metrics (p95 per service per day)', api],
      ['rollups as the Grafana usage panel (SQL on metric_days)', rollupSql],
      ['raw records (the dashboard before metrics)', rawSql],
    ] as const) {
      const m = run === rawSql ? raw : await median(run);
      rows.push({
        query: name,
        'median ms': m.median.toFixed(1),
        'min ms': m.min.toFixed(1),
        'raw / this': (raw.median / m.median).toFixed(1) + '×',
        result: String(m.result),
        goal: run === rawSql ? '' : `≤ ${GOAL_MS} ms`,
        met: run === rawSql ? '' : m.median <= GOAL_MS ? 'yes' : 'NO',
      });
    }
    console.log(
      `\n${ROWS} scope records over ${DAYS} days (${load}); rollup rows: ${sizes.minutes} minutes (15 d), ` +
        `${sizes.hours} hours, ${sizes.days} days; ClickHouse ${ch.features.version} (${label}), ${RUNS} runs each\n`,
    );
    console.table(rows);
    await app.close();
    if (!KEEP) await ch.command(`DROP DATABASE ${database}`);
  } finally {
    await ch.close();
  }
}

void forEachClickHouseTarget(benchTarget);
