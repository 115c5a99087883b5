-- scope: database
-- distributed: {{db}}.metric_minutes
-- Metrics declared in the collector's configuration (`metrics:`), rolled up per minute
-- by the collector as records arrive (collector/src/metrics). One row per metric,
-- minute and group; rows of the same key are summed when parts merge: Count, Sum and
-- the distribution's buckets (HistogramMap: bucket → records, log buckets of 1 %
-- relative accuracy, collector/src/metrics/sketch.ts). Partitioned by the metric's
-- retention and day: kept min(retention, 15 days) at this resolution; metric_hours and
-- metric_days (0016, 0017) keep it longer.
CREATE TABLE IF NOT EXISTS {{db}}.metric_minutes{{local}}{{on_cluster}}
(
    Metric String,
    Time DateTime,
    Series String,
    LabelKeys Array(String),
    LabelValues Array(String),
    RetentionDays UInt16,
    Count UInt64,
    Sum Float64,
    HistogramMap Nested(Bucket Int32, Records UInt64)
)
ENGINE = {{engine(SummingMergeTree)}}
PARTITION BY (RetentionDays, toDate(Time))
ORDER BY (Metric, Time, Series, RetentionDays)
