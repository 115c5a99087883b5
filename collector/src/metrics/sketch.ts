/**
 * The distribution sketch of `distribution` metrics: logarithmic buckets whose bounds
 * grow by GAMMA, so any value in a bucket is within RELATIVE_ACCURACY (1 %) of the
 * bucket's representative value. A distribution is a map bucket → count; two maps merge
 * by adding counts — exactly, in any order, on any server (SummingMergeTree sums them as
 * a `…Map` nested column). A quantile read from it is within 1 % of the exact quantile
 * of the values (the value at rank floor(q·(n−1)) of the sorted values).
 *
 * Values ≤ 0 (and below 1e-9) go to bucket ZERO_BUCKET, read back as 0.
 */
export const RELATIVE_ACCURACY = 0.01;
export const GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY);
const LOG_GAMMA = Math.log(GAMMA);
export const ZERO_BUCKET = -2_147_483_648;
const MIN_VALUE = 1e-9;

export function bucketOf(value: number): number {
  if (!(value >= MIN_VALUE)) return ZERO_BUCKET;
  return Math.ceil(Math.log(value) / LOG_GAMMA);
}

/**
 * Coarser levels merge `width` neighbouring buckets into one (bucket b → ceil(b / width)):
 * the hour rollups 2 (2 % relative accuracy), the day rollups 4 (4 %), so that reading
 * months and years merges fewer buckets. The materialized views (migrations 0016, 0017)
 * do it in SQL.
 */
export const BUCKET_WIDTHS: Record<string, number> = { metric_minutes: 1, metric_hours: 2, metric_days: 4 };

/** The relative accuracy of buckets `width` times as wide as the finest. */
export function accuracyOf(width: number): number {
  const g = Math.pow(GAMMA, width);
  return (g - 1) / (g + 1);
}

export function coarseBucket(bucket: number, width: number): number {
  return bucket === ZERO_BUCKET ? bucket : Math.ceil(bucket / width);
}

/** The value a bucket stands for: within accuracyOf(width) of every value in it. */
export function bucketValue(bucket: number, width = 1): number {
  if (bucket === ZERO_BUCKET) return 0;
  const g = Math.pow(GAMMA, width);
  return (2 * Math.pow(g, bucket)) / (g + 1);
}

/** The q-quantile of a distribution given as buckets sorted ascending with their counts. */
export function quantileOf(
  buckets: readonly number[],
  counts: readonly number[],
  q: number,
  width = 1,
): number | null {
  let total = 0;
  for (const c of counts) total += c;
  if (total === 0) return null;
  const rank = Math.floor(q * (total - 1));
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    seen += counts[i];
    if (seen > rank) return bucketValue(buckets[i], width);
  }
  return bucketValue(buckets[buckets.length - 1], width);
}

/**
 * The same in ClickHouse SQL, for the API, the Grafana panels and your own queries, over
 * the rows of one group of a rollup table whose bucket width is `width` (a number, or an
 * SQL expression such as a column):
 *   `groupArrayArray(HistogramMap.Bucket) AS bs, groupArrayArray(HistogramMap.Records) AS rs,
 *    sum(Count) AS n`.
 * The counts sorted by bucket, summed up, give the bucket holding rank floor(q·(n−1)).
 * (Merging the maps with sumMap gives the same, ~4× slower: it boxes every entry.)
 * Works on 18.16 and current servers.
 */
export function quantileSql(q: number, width: number | string = 1, bs = 'bs', rs = 'rs', n = 'n'): string {
  return quantileFromSortedSql(
    q,
    width,
    `arraySort(${bs})`,
    `arrayCumSum(arraySort((r, b) -> b, ${rs}, ${bs}))`,
    n,
  );
}

/**
 * The same from the sorted buckets (`arraySort(bs) AS sb`) and their cumulative counts
 * (`arrayCumSum(arraySort((r, b) -> b, rs, bs)) AS cum`) computed once: several quantiles
 * of one group then sort once.
 */
export function quantileFromSortedSql(
  q: number,
  width: number | string = 1,
  sb = 'sb',
  cum = 'cum',
  n = 'n',
): string {
  const bucket = `${sb}[arrayFirstIndex(c -> c > floor(${q} * (${n} - 1)), ${cum})]`;
  const g = typeof width === 'number' ? String(Math.pow(GAMMA, width)) : `pow(${GAMMA}, ${width})`;
  return `if(${n} = 0, nan, if(${bucket} = ${ZERO_BUCKET}, 0, 2 * pow(${g}, ${bucket}) / (${g} + 1)))`;
}
