-- scope: database
-- distributed: {{db}}.metric_days
-- metric_minutes per day, kept for the metric's retention; filled by a materialized view
-- on every server's metric_minutes (so in cluster mode on every shard).
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
ORDER BY (Metric, Time, Series, RetentionDays);

CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.metric_days_view{{local}}{{on_cluster}}
TO {{db}}.metric_days{{local}}
AS SELECT
    Metric,
    toDateTime(toDate(Time)) AS Time,
    Series,
    LabelKeys,
    LabelValues,
    RetentionDays,
    Count,
    Sum,
    `HistogramMap.Bucket`,
    `HistogramMap.Records`
FROM {{db}}.metric_minutes{{local}}
