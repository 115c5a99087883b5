-- scope: database
-- distributed: {{db}}.collectors
-- The collectors that run, each with the address of its live-tail stream: a row when a
-- collector starts, every 10 s while it runs, and when it stops (Alive = 0). Query servers
-- subscribe to every collector seen in the last 30 s while someone tails, so records are
-- pushed to them as they are stored instead of read back from the tables
-- (collector/src/control/collector-registry.ts, query-ui server/tail-feed.ts).
CREATE TABLE IF NOT EXISTS {{db}}.collectors{{local}}{{on_cluster}}
(
    Collector String,
    TailUrl String,
    Alive UInt8,
    SeenAt DateTime,
    Version UInt64
)
ENGINE = {{engine(MergeTree)}}
PARTITION BY toDate(SeenAt)
ORDER BY Collector
