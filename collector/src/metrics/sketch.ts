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

/** The value a bucket stands for: within RELATIVE_ACCURACY of every value in it. */
export function bucketValue(bucket: number): number {
  if (bucket === ZERO_BUCKET) return 0;
  return (2 * Math.pow(GAMMA, bucket)) / (GAMMA + 1);
}

/** The q-quantile of a distribution given as buckets sorted ascending with their counts. */
export function quantileOf(buckets: readonly number[], counts: readonly number[], q: number): number | null {
  let total = 0;
  for (const c of counts) total += c;
  if (total === 0) return null;
  const rank = Math.floor(q * (total - 1));
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    seen += counts[i];
    if (seen > rank) return bucketValue(buckets[i]);
  }
  return bucketValue(buckets[buckets.length - 1]);
}

/**
 * The same in ClickHouse SQL, for Grafana panels and your own queries: `m` is
 * `sumMap(HistogramMap.Bucket, HistogramMap.Records)` and `n` the sum of Count.
 * Works on 18.16 and current servers.
 */
export function quantileSql(q: number, m = 'm', n = 'n'): string {
  const i = `arrayFirstIndex(c -> c > floor(${q} * (${n} - 1)), arrayCumSum(${m}.2))`;
  return `if(${n} = 0, nan, if((${m}.1)[${i}] = ${ZERO_BUCKET}, 0, 2 * pow(${GAMMA}, (${m}.1)[${i}]) / (${GAMMA} + 1)))`;
}
