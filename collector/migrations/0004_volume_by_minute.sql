-- scope: database
-- distributed: {{db}}.volume_by_minute
-- Records per minute, tier, service, logger and severity, kept by a materialized view
-- per tier (0005). Histograms over long ranges read this instead of every record.
CREATE TABLE IF NOT EXISTS {{db}}.volume_by_minute{{local}}{{on_cluster}}
(
    Minute DateTime,
    Tier String,
    ServiceName String,
    ScopeName String,
    SeverityNumber UInt8,
    Records UInt64
)
ENGINE = {{engine(SummingMergeTree, Records)}}
PARTITION BY toDate(Minute)
ORDER BY (ServiceName, Minute, Tier, ScopeName, SeverityNumber)
