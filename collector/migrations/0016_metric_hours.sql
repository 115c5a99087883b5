-- scope: database
-- distributed: {{db}}.metric_hours
-- The declared metrics per hour, kept min(retention, 400 days), in buckets twice as wide
-- (2 % relative accuracy): fewer rows and fewer buckets to merge when months are read.
-- Written by the collector beside metric_minutes, from the same points
-- (collector/src/metrics/metric-sink.ts) — not by a materialized view: 18.16 refuses a
-- view whose aggregates are named like the columns they read (`sumMap(…).1 AS
-- \`HistogramMap.Bucket\``: "cyclic aliases").
CREATE TABLE IF NOT EXISTS {{db}}.metric_hours{{local}}{{on_cluster}}
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
