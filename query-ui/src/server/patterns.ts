import type { ClickHouse } from '@distlog/collector/storage';
import { intLiteral } from '@distlog/collector/storage';
import { templateOf } from '@distlog/collector/model';
import type { SearchFilter } from './filters';
import { FilterError } from './filters';
import { whereClause } from './filter-sql';
import { patternHex } from './records';

/**
 * Log patterns of a query: its records grouped by message template (the PatternId the
 * collector stores with every record), with counts, errors, first/last seen in the range,
 * a sparkline, the services, and whether the pattern is new — never seen before the
 * range began (per the `patterns` table, kept as long as the longest tier). One scan of
 * the range for the counts; the samples and first sightings come from `patterns`.
 */
export interface ApiPattern {
  /** `pattern:<id>` in a query. */
  id: string;
  template: string;
  /** One message of the pattern. */
  sample: string;
  count: number;
  errors: number;
  firstSeen: string;
  lastSeen: string;
  /** When the pattern was first stored at all (absent for readers limited to tenants). */
  firstEver?: string;
  /** First stored within the range. */
  isNew: boolean;
  services: string[];
  /** Records per step of the range, oldest first. */
  sparkline: number[];
  /** The trace of the pattern's newest record that has one (follow that request). */
  traceId?: string;
}

export interface PatternsResult {
  fromMs: number;
  toMs: number;
  stepMs: number;
  /** Records of the query that carry a pattern id, and how many distinct patterns. */
  records: number;
  distinct: number;
  patterns: ApiPattern[];
}

const SPARK_STEPS = 24;

export async function findPatterns(
  ch: ClickHouse,
  f: SearchFilter,
  options: { limit?: number; newFirst?: boolean; byErrors?: boolean } = {},
): Promise<PatternsResult> {
  const limit = options.limit ?? 50;
  if (options.newFirst && f.tenants)
    throw new FilterError(
      'new: first sightings are kept for every tenant at once: ask a user who reads every tenant',
    );
  const v = ch.values();
  const fromSec = Math.floor(f.fromMs / 1000);
  const stepSec = Math.max(1, Math.ceil((Math.floor(f.toMs / 1000) - fromSec + 1) / SPARK_STEPS));
  const rows = await ch.query<{
    id: string;
    b: string;
    n: string;
    e: string;
    first: string;
    last: string;
    trace: string;
  }>(
    `SELECT toString(PatternId) AS id, intDiv(toUInt32(toDateTime(Timestamp)) - ${intLiteral(fromSec)}, ${intLiteral(stepSec)}) AS b,
            count() AS n, countIf(SeverityNumber >= 17) AS e, toString(min(TimeUnixNano)) AS first, toString(max(TimeUnixNano)) AS last,
            argMaxIf(TraceId, TimeUnixNano, TraceId != '') AS trace
     FROM ${ch.database}.all_logs WHERE ${whereClause(f, v)} AND PatternId != 0
     GROUP BY id, b`,
    {},
    v.params,
  );
  const all = new Map<
    string,
    { n: number; e: number; first: bigint; last: bigint; spark: number[]; trace: string; traceAt: bigint }
  >();
  let records = 0;
  for (const r of rows) {
    let p = all.get(r.id);
    if (!p) {
      p = {
        n: 0,
        e: 0,
        first: BigInt(r.first),
        last: BigInt(r.last),
        spark: new Array(SPARK_STEPS).fill(0),
        trace: '',
        traceAt: -1n,
      };
      all.set(r.id, p);
    }
    const n = Number(r.n);
    records += n;
    p.n += n;
    p.e += Number(r.e);
    if (BigInt(r.first) < p.first) p.first = BigInt(r.first);
    if (BigInt(r.last) > p.last) p.last = BigInt(r.last);
    if (r.trace !== '' && BigInt(r.last) > p.traceAt) {
      p.trace = r.trace;
      p.traceAt = BigInt(r.last);
    }
    const b = Math.min(SPARK_STEPS - 1, Math.max(0, Number(r.b)));
    p.spark[b] += n;
  }
  const ids = [...all.keys()];
  // First sightings of every pattern of the range (the small table, by primary key).
  const seen = new Map<string, { firstEver: number; sample: string; services: string[] }>();
  if (ids.length > 0) {
    const inList = ids.map((id) => intLiteral(BigInt(id))).join(', ');
    if (f.tenants) {
      // Readers limited to tenants get samples from their own records only.
      const samples = await ch.query<{ id: string; sample: string; services: string[] }>(
        `SELECT toString(PatternId) AS id, any(Body) AS sample, arraySlice(groupUniqArray(ServiceName), 1, 10) AS services
         FROM ${ch.database}.all_logs WHERE ${whereClause(f, v)} AND PatternId IN (${ranked(all, limit, false)
           .map((id) => intLiteral(BigInt(id)))
           .join(', ')}) GROUP BY PatternId`,
        {},
        v.params,
      );
      for (const s of samples) seen.set(s.id, { firstEver: NaN, sample: s.sample, services: s.services });
    } else {
      const facts = await ch.query<{ id: string; sample: string; firstEver: string; services: string[] }>(
        `SELECT toString(PatternId) AS id, anyMerge(Sample) AS sample, toString(minMerge(FirstSeen)) AS firstEver,
                arraySlice(groupUniqArray(ServiceName), 1, 10) AS services
         FROM ${ch.database}.patterns WHERE PatternId IN (${inList}) GROUP BY PatternId`,
      );
      for (const s of facts)
        seen.set(s.id, { firstEver: Number(s.firstEver) * 1000, sample: s.sample, services: s.services });
    }
  }
  const isNew = (id: string) => (seen.get(id)?.firstEver ?? NaN) >= f.fromMs;
  const order = ranked(all, all.size, options.newFirst ?? false, isNew, options.byErrors).slice(0, limit);
  const iso = (nanos: bigint) => new Date(Number(nanos / 1_000_000n)).toISOString();
  return {
    fromMs: f.fromMs,
    toMs: f.toMs,
    stepMs: stepSec * 1000,
    records,
    distinct: all.size,
    patterns: order.map((id) => {
      const p = all.get(id)!;
      const s = seen.get(id);
      const sample = s?.sample ?? '';
      return {
        id: patternHex(id),
        template: templateOf(sample),
        sample,
        count: p.n,
        errors: p.e,
        firstSeen: iso(p.first),
        lastSeen: iso(p.last),
        ...(s && Number.isFinite(s.firstEver) ? { firstEver: new Date(s.firstEver).toISOString() } : {}),
        isNew: isNew(id),
        services: [...(s?.services ?? [])].sort(),
        sparkline: p.spark,
        ...(p.trace ? { traceId: p.trace } : {}),
      };
    }),
  };
}

/** Pattern ids by count (errors break ties) or by errors, new ones first when asked. */
function ranked(
  all: Map<string, { n: number; e: number }>,
  limit: number,
  newFirst: boolean,
  isNew: (id: string) => boolean = () => false,
  byErrors = false,
): string[] {
  return [...all.keys()]
    .sort((a, b) => {
      if (newFirst && isNew(a) !== isNew(b)) return isNew(a) ? -1 : 1;
      const pa = all.get(a)!;
      const pb = all.get(b)!;
      return (byErrors ? pb.e - pa.e : 0) || pb.n - pa.n || pb.e - pa.e || a.localeCompare(b);
    })
    .slice(0, limit);
}
