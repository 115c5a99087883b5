import { InputError } from './api-errors';
import type { ClickHouse, SqlValues } from '@distlog/collector/storage';
import { SEVERITY_TEXT_BY_NUMBER } from '@distlog/collector/model';
import { intLiteral } from '@distlog/collector/storage';
import type { SearchFilter } from './filters';
import { answeredByMinutes, bodyClause, tenantClause, whereClause } from './filter-sql';
import { BUCKET_SECONDS, TextBuckets } from './text-buckets';
import type { ApiRecord, RecordRow } from './records';
import { RECORD_COLUMNS, recordId as legacyRecordId, parseRecordId, toApiRecord } from './records';
import type { ScopeTree, TraceRecord } from '../trace/scope-tree';
import { buildScopeTree } from '../trace/scope-tree';

/**
 * Every read the API does, as SQL over `all_logs` (the Merge table over all tiers).
 * Values enter SQL only through filters.ts and the collector's escaping module.
 */
export interface SearchPage {
  records: ApiRecord[];
  /** Pass as `cursor` for the next (older) page; absent on the last page. */
  nextCursor?: string;
}

export interface HistogramBucket {
  /** Bucket start, ms since the epoch. */
  t: number;
  severity: string;
  count: number;
}

export interface TraceResult {
  traceId: string;
  records: ApiRecord[];
  tree: ScopeTree;
  services: string[];
  tiers: string[];
}

export interface FacetValue {
  value: string;
  count: number;
}

export interface Facets {
  services: string[];
  scopes: string[];
  attributeKeys: string[];
  tiers: string[];
  /** Records the query matches. */
  total: number;
  /** The top values (10; every severity and tier) of each facet, with their counts. */
  counts: { service: FacetValue[]; severity: FacetValue[]; logger: FacetValue[]; tier: FacetValue[] };
  /** The top values of each pinned attribute key. */
  pinned: Record<string, FacetValue[]>;
}

const FACET_VALUES = 10;

/** Severity numbers by name (TRACE … FATAL), as the language's `severity:` reads them. */
function severityLevel(n: number): string {
  return n <= 0
    ? 'UNSPECIFIED'
    : ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'][Math.min(5, Math.floor((n - 1) / 4))];
}

export class Queries {
  private readonly buckets: TextBuckets;

  constructor(private readonly ch: ClickHouse) {
    this.buckets = new TextBuckets(ch);
  }

  private get table(): string {
    return `${this.ch.database}.all_logs`;
  }

  /**
   * Newest first. The cursor is `<nanos>.<skip>`: continue at records not newer than
   * `nanos`, skipping the `skip` records of exactly that time already returned —
   * loggers with millisecond clocks give many records the same time, and a tie-break
   * on the record's content keeps their order stable between pages.
   */
  async search(f: SearchFilter, limit: number, cursor?: string): Promise<SearchPage> {
    let skip = 0;
    let cursorNanos: string | undefined;
    let toMs = f.toMs;
    if (cursor !== undefined) {
      const m = /^(\d{1,20})\.(\d{1,9})$/.exec(cursor);
      if (!m) throw new InputError('cursor: not a cursor returned by this API');
      cursorNanos = m[1];
      skip = Number(m[2]);
      toMs = Math.min(toMs, Number(BigInt(cursorNanos) / 1_000_000n) + 1);
    }
    // Newest first, one time window at a time (5 min, 5 min, 10 min, 20 min, …): the first
    // page of a long range usually comes from its newest minutes (at 100 M records a day, a
    // first window of an hour read 4 M rows: 0.7 s for a text search on 18.16), and servers without read-in-order
    // optimisation (18.16) would otherwise scan the whole range for every page. A text
    // search that the newest hour did not satisfy reads, on servers without skip indexes,
    // only the ten-minute buckets whose words can hold the text (text-buckets.ts).
    const rows: RecordRow[] = [];
    let first = true;
    const fetchWindow = async (ranges: Array<[number, number]>): Promise<void> => {
      const v = this.ch.values();
      const body = bodyClause(f, v);
      let where = whereClause({ ...f, fromMs: ranges[ranges.length - 1][0], toMs: ranges[0][1] }, v, {
        withoutBody: true,
      });
      if (ranges.length > 1)
        where += ` AND (${ranges
          .map(
            ([a, b]) =>
              // Timestamp (in the sort key) lets the server skip the granules between the ranges.
              `(${v.secondsRange('Timestamp', Math.floor(a / 1000), Math.floor(b / 1000))}` +
              ` AND TimeUnixNano >= ${intLiteral(msToNanos(a))} AND TimeUnixNano <= ${intLiteral(msToNanos(b + 1) - 1n)})`,
          )
          .join(' OR ')})`;
      if (cursorNanos !== undefined) where += ` AND TimeUnixNano <= ${intLiteral(BigInt(cursorNanos))}`;
      const want = limit + 1 - rows.length;
      rows.push(
        ...(await this.ch.query<RecordRow>(
          `SELECT ${RECORD_COLUMNS} FROM ${this.table} ${body ? `PREWHERE ${body}` : ''} WHERE ${where}
           ORDER BY Timestamp DESC, TimeUnixNano DESC, sipHash64(ServiceName, SpanId, ScopeName, Body) DESC
           LIMIT ${intLiteral(first ? skip : 0)}, ${intLiteral(want)}`,
          {},
          v.params,
        )),
      );
      first = false;
    };
    let windowEnd = toMs;
    let windowMs = 300_000;
    let windows = 0;
    while (rows.length <= limit && windowEnd >= f.fromMs) {
      const windowStart = Math.max(f.fromMs, windowEnd - windowMs + 1);
      await fetchWindow([[windowStart, windowEnd]]);
      windowEnd = windowStart - 1;
      if (++windows >= 2) windowMs *= 2;
      if (windows === 1 && f.text && rows.length <= limit && windowEnd >= f.fromMs && this.buckets.applies) {
        const buckets = await this.buckets.candidates(f.text, f.fromMs, windowEnd);
        // Words found in most buckets (a common text): the windows serve it better.
        const inRange = (windowEnd - f.fromMs) / 1000 / BUCKET_SECONDS + 1;
        if (!buckets || buckets.length > inRange / 2) continue;
        // Bucket by bucket, newest first, a growing number of them per query (1, 2, 4, …).
        const spans = buckets.map((b): [number, number] => [
          Math.max(f.fromMs, b * 1000),
          Math.min(windowEnd, (b + BUCKET_SECONDS) * 1000 - 1),
        ]);
        for (let i = 0, n = 1; i < spans.length && rows.length <= limit; i += n, n *= 2)
          await fetchWindow(spans.slice(i, i + n));
        break;
      }
    }
    const page = rows.slice(0, limit).map(toApiRecord);
    if (rows.length <= limit) return { records: page };
    const last = page[page.length - 1].timeUnixNano;
    let same = 0;
    for (let i = page.length - 1; i >= 0 && page[i].timeUnixNano === last; i--) same++;
    if (last === cursorNanos) same += skip;
    return { records: page, nextCursor: `${last}.${same}` };
  }

  /**
   * Counts per time bucket and severity. Filters on time, service, logger, severity and
   * tier only (the usual overview) read the per-minute rollup `volume_by_minute` for
   * buckets of a minute or more; any other filter counts the records themselves.
   */
  async histogram(
    f: SearchFilter,
    buckets: number,
  ): Promise<{ bucketMs: number; buckets: HistogramBucket[] }> {
    const span = Math.max(1000, f.toMs - f.fromMs);
    let bucketSec = Math.max(1, Math.ceil(span / buckets / 1000));
    const rollup = bucketSec >= 60 && answeredByMinutes(f, { tiers: true });
    let rows: Array<{ t: string; s: number; n: string }>;
    const v = this.ch.values();
    if (rollup) {
      bucketSec = Math.ceil(bucketSec / 60) * 60;
      rows = await this.ch.query(
        `SELECT intDiv(toUInt32(Minute), ${intLiteral(bucketSec)}) * ${intLiteral(bucketSec)} AS t, SeverityNumber AS s, sum(Records) AS n
         FROM ${this.ch.database}.volume_by_minute WHERE ${whereClause(f, v, { on: 'minutes' })} GROUP BY t, s ORDER BY t`,
        {},
        v.params,
      );
    } else {
      rows = await this.ch.query(
        `SELECT intDiv(toUInt32(Timestamp), ${intLiteral(bucketSec)}) * ${intLiteral(bucketSec)} AS t,
                SeverityNumber AS s, count() AS n
         FROM ${this.table} WHERE ${whereClause(f, v)} GROUP BY t, s ORDER BY t`,
        {},
        v.params,
      );
    }
    // Grouping on the number, not the text, is cheaper; the severity's name is the OTel one.
    return {
      bucketMs: bucketSec * 1000,
      buckets: rows.map((r) => ({
        t: Number(r.t) * 1000,
        severity: severityName(Number(r.s)),
        count: Number(r.n),
      })),
    };
  }

  /** What the filter pickers offer: services, loggers and attribute keys seen in the range. */
  /**
   * What the query's records hold: the values of service, severity, logger and tier with
   * their counts (one scan, grouped), the attribute keys seen, and the top values of the
   * attribute keys a user pinned. The lists without counts are what the dropdowns offer.
   */
  async facets(f: SearchFilter, pinned: readonly string[] = []): Promise<Facets> {
    const v = this.ch.values();
    const where = whereClause(f, v);
    const [groups, keys, ...pins] = await Promise.all([
      this.groupCounts(f, where, v),
      // The keys of the first 100 000 matching records: enough to complete names, cheap at any size.
      this.ch.query<{ v: string }>(
        `SELECT DISTINCT arrayJoin(k) AS v FROM (SELECT LogAttributes.key AS k FROM ${this.table} WHERE ${where} LIMIT 100000)
         ORDER BY v LIMIT 1000`,
        {},
        v.params,
      ),
      ...pinned.map((key) => {
        const pv = this.ch.values();
        const k = pv.str(key);
        return this.ch.query<{ value: string; n: string }>(
          `SELECT LogAttributes.value[indexOf(LogAttributes.key, ${k})] AS value, count() AS n
           FROM ${this.table} WHERE ${whereClause(f, pv)} AND has(LogAttributes.key, ${k})
           GROUP BY value ORDER BY n DESC, value LIMIT ${FACET_VALUES}`,
          {},
          pv.params,
        );
      }),
    ]);
    const tally = (pick: (g: (typeof groups)[number]) => string) => {
      const counts = new Map<string, number>();
      for (const g of groups) {
        const value = pick(g);
        if (value === '\u0000') continue;
        counts.set(value, (counts.get(value) ?? 0) + Number(g.n));
      }
      return [...counts]
        .map(([value, count]) => ({ value, count }))
        .sort((a, b) => b.count - a.count || a.value.localeCompare(b.value));
    };
    const service = tally((g) => g.s);
    const logger = tally((g) => g.l);
    const tier = tally((g) => g.t);
    const severity = tally((g) => (Number(g.sev) < 0 ? '\u0000' : severityLevel(Number(g.sev))));
    const names = (list: FacetValue[]) => list.map((x) => x.value).sort();
    return {
      services: names(service),
      scopes: names(logger),
      attributeKeys: keys.map((r) => r.v),
      tiers: names(tier),
      total: service.reduce((a, x) => a + x.count, 0),
      counts: {
        service: service.slice(0, FACET_VALUES),
        severity,
        logger: logger.slice(0, FACET_VALUES),
        tier,
      },
      pinned: Object.fromEntries(
        pinned.map((key, i) => [key, pins[i].map((r) => ({ value: r.value, count: Number(r.n) }))]),
      ),
    };
  }

  /**
   * Records per service, severity, logger and tier. A filter on those alone (and time) is
   * answered from the per-minute rollup (`volume_by_minute`, the range rounded to minutes)
   * and the tiers' time column, not the records: a day of 10 M records in tens of ms.
   */
  private async groupCounts(
    f: SearchFilter,
    where: string,
    v: SqlValues,
  ): Promise<Array<{ s: string; sev: number; l: string; t: string; n: string }>> {
    // Tiers are counted from the tables' time column below, so a tier filter needs the records.
    const simple = answeredByMinutes(f, { tiers: false });
    if (!simple)
      return this.ch.query(
        `SELECT ServiceName AS s, SeverityNumber AS sev, ScopeName AS l, _table AS t, count() AS n
         FROM ${this.table} WHERE ${where} GROUP BY s, sev, l, t`,
        {},
        v.params,
      );
    const rv = this.ch.values();
    const tv = this.ch.values();
    const [groups, tiers] = await Promise.all([
      this.ch.query<{ s: string; sev: number; l: string; n: string }>(
        `SELECT ServiceName AS s, SeverityNumber AS sev, ScopeName AS l, sum(Records) AS n
         FROM ${this.ch.database}.volume_by_minute WHERE ${whereClause(f, rv, { on: 'minutes' })} GROUP BY s, sev, l`,
        {},
        rv.params,
      ),
      // Tiers by their tables, as `tier:` reads them; the time column only.
      this.ch.query<{ t: string; n: string }>(
        `SELECT _table AS t, count() AS n FROM ${this.table} WHERE ${whereClause(f, tv)}
         GROUP BY t`,
        {},
        tv.params,
      ),
    ]);
    // Tiers join the groups as rows of their own (each facet sums its own column).
    return [
      ...groups.map((g) => ({ ...g, t: '\u0000' })),
      ...tiers.map((t) => ({ s: '\u0000', sev: -1, l: '\u0000', t: t.t, n: t.n })),
    ];
  }

  /** Every record of one trace, across services and tiers, with the scope tree. */
  async trace(traceId: string, tenants?: readonly string[]): Promise<TraceResult> {
    const v = this.ch.values();
    const id = v.str(traceId);
    // trace_index narrows the read to the partitions of the trace's time range.
    const [range] = await this.ch.query<{ a: string; b: string; n: string }>(
      `SELECT toUnixTimestamp(min(MinTimestamp)) AS a, toUnixTimestamp(max(MaxTimestamp)) AS b, count() AS n
       FROM ${this.ch.database}.trace_index WHERE TraceId = ${id}`,
      {},
      v.params,
    );
    const bounded = Number(range?.n ?? 0) > 0;
    const where =
      (bounded ? v.secondsRange('Timestamp', Number(range.a), Number(range.b)) : '1') +
      (tenants ? ` AND ${tenantClause(tenants, v)}` : '');
    // The trace id in a PREWHERE: the other columns are read only for its rows (at 100 M
    // records, 22 ms instead of 240 ms on 18.16, which otherwise reads every column of the range).
    const rows = await this.ch.query<RecordRow>(
      `SELECT ${RECORD_COLUMNS} FROM ${this.table} PREWHERE TraceId = ${id} WHERE ${where} ORDER BY TimeUnixNano LIMIT 100000`,
      {},
      v.params,
    );
    const records = rows.map(toApiRecord);
    const tree = buildScopeTree(records.map(toTraceRecord));
    return {
      traceId,
      records,
      tree,
      services: [...new Set(records.map((r) => r.service))].sort(),
      tiers: [...new Set(records.map((r) => r.tier))].sort(),
    };
  }

  /** The records just before and after one record, in the same service and instance. */
  async context(
    recordId: string,
    before: number,
    after: number,
    tenants?: readonly string[],
  ): Promise<{ record?: ApiRecord; before: ApiRecord[]; after: ApiRecord[] }> {
    const at = parseRecordId(recordId);
    if (!at) throw new InputError('record id: not an id returned by this API');
    const nanos = BigInt(at.timeUnixNano);
    const sec = nanos / 1_000_000_000n;
    const v = this.ch.values();
    const same =
      `ServiceName = ${v.str(at.service)}` +
      (at.instance
        ? ` AND ResourceAttributes.value[indexOf(ResourceAttributes.key, 'service.instance.id')] = ${v.str(at.instance)}`
        : '') +
      (tenants ? ` AND ${tenantClause(tenants, v)}` : '');
    const window = 3600n;
    const [older, newer] = await Promise.all([
      this.ch.query<RecordRow>(
        `SELECT ${RECORD_COLUMNS} FROM ${this.table}
         WHERE ${same} AND ${v.secondsRange('Timestamp', sec - window, sec)}
           AND TimeUnixNano < ${intLiteral(nanos)}
         ORDER BY TimeUnixNano DESC LIMIT ${intLiteral(before)}`,
        {},
        v.params,
      ),
      this.ch.query<RecordRow>(
        `SELECT ${RECORD_COLUMNS} FROM ${this.table}
         WHERE ${same} AND ${v.secondsRange('Timestamp', sec, sec + window)}
           AND TimeUnixNano >= ${intLiteral(nanos)}
         ORDER BY TimeUnixNano ASC LIMIT ${intLiteral(after + 1)}`,
        {},
        v.params,
      ),
    ]);
    const newerRecords = newer.map(toApiRecord);
    let index = newerRecords.findIndex((r) => r.id === recordId);
    // An id from before records had fingerprints names the first record of its millisecond.
    if (index < 0 && recordId === legacyRecordId(at.tier, at.timeUnixNano, at.service, at.instance))
      index = newerRecords.findIndex((r) => r.timeUnixNano === at.timeUnixNano);
    const record = index >= 0 ? newerRecords.splice(index, 1)[0] : undefined;
    return { record, before: older.map(toApiRecord).reverse(), after: newerRecords.slice(0, after) };
  }

  /** Records newer than `afterNanos` matching the filter, oldest first (live tail). */
  async since(f: SearchFilter, afterNanos: bigint, limit: number): Promise<ApiRecord[]> {
    const sec = afterNanos / 1_000_000_000n;
    const v = this.ch.values();
    const rows = await this.ch.query<RecordRow>(
      `SELECT ${RECORD_COLUMNS} FROM ${this.table}
       WHERE ${whereClause(f, v)} AND Timestamp >= toDateTime(${intLiteral(sec)}) AND TimeUnixNano > ${intLiteral(afterNanos)}
       ORDER BY TimeUnixNano ASC LIMIT ${intLiteral(limit)}`,
      {},
      v.params,
    );
    return rows.map(toApiRecord);
  }

  /** The read-only SQL console: the server enforces readonly and a time limit. */
  async sql(
    sql: string,
    maxSeconds: number,
    maxRows: number,
  ): Promise<{ columns: string[]; rows: Array<Record<string, unknown>> }> {
    const rows = await this.ch.query<Record<string, unknown>>(sql, {
      readonly: 1,
      max_execution_time: maxSeconds,
      max_result_rows: maxRows,
      result_overflow_mode: 'break',
    });
    return { columns: rows.length > 0 ? Object.keys(rows[0]) : [], rows };
  }
}

export function toTraceRecord(r: ApiRecord): TraceRecord {
  return {
    timeUnixNano: r.timeUnixNano,
    service: r.service,
    scope: r.scope,
    eventName: r.eventName,
    body: r.body,
    spanId: r.spanId,
    severityNumber: r.severityNumber,
    attributes: r.attributes,
  };
}

function severityName(n: number): string {
  return n === 0 ? 'UNSPECIFIED' : (SEVERITY_TEXT_BY_NUMBER[n] ?? String(n));
}

function msToNanos(ms: number): bigint {
  return BigInt(Math.floor(ms)) * 1_000_000n;
}
