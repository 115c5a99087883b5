-- scope: database
-- distributed: {{db}}.patterns
-- Per pattern, service, tier and day: one of its messages, first and last seen (Unix
-- seconds: DateTime states differ by time zone between versions), records —
-- filled by a materialized view per tier (0021). The patterns view reads its samples and
-- "first seen ever" (what makes a pattern new) here instead of the records. Kept as long
-- as the longest tier.
CREATE TABLE IF NOT EXISTS {{db}}.patterns{{local}}{{on_cluster}}
(
    Day Date,
    PatternId UInt64,
    ServiceName String,
    Tier String,
    Sample AggregateFunction(any, String),
    FirstSeen AggregateFunction(min, UInt32),
    LastSeen AggregateFunction(max, UInt32),
    Records AggregateFunction(count)
)
ENGINE = {{engine(AggregatingMergeTree)}}
PARTITION BY Day
ORDER BY (PatternId, ServiceName, Tier, Day)
