-- scope: database
-- distributed: {{db}}.metric_days
-- The declared metrics per day (UTC), kept for the metric's retention, in buckets four
-- times as wide (4 % relative accuracy): few rows and buckets to merge when years are read.
-- Written by the collector beside metric_minutes, from the same points
-- (collector/src/metrics/metric-sink.ts) — not by a materialized view: 18.16 refuses a
-- view whose aggregates are named like the columns they read (`sumMap(…).1 AS
-- \`HistogramMap.Bucket\``: "cyclic aliases").
CREATE TABLE IF NOT EXISTS {{db}}.metric_days{{local}}{{on_cluster}}
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
PARTITION BY (RetentionDays, toYYYYMM(Time))
ORDER BY (Metric, Time, Series, RetentionDays)
