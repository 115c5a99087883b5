-- scope: database
-- distributed: {{db}}.trace_index
-- Trace id → where its records are: per tier and service, the time range and count.
-- Filled by one materialized view per tier (0003); lets "all records of trace X"
-- read only the partitions of that time range instead of scanning every tier.
CREATE TABLE IF NOT EXISTS {{db}}.trace_index{{local}}{{on_cluster}}
(
    TraceId String,
    Tier String,
    ServiceName String,
    MinTimestamp DateTime,
    MaxTimestamp DateTime,
    Records UInt64
)
ENGINE = {{engine(MergeTree)}}
PARTITION BY toDate(MinTimestamp)
ORDER BY (TraceId, Tier, ServiceName)
