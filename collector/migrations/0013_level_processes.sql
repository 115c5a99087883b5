-- scope: database
-- distributed: {{db}}.level_processes
-- The processes subscribed to level rules, whichever collector they are connected to:
-- each collector writes a row per process when it subscribes, reports its loggers'
-- levels or disconnects, and for every connected process every 10 s (a heartbeat).
-- `distlog level list` reads the latest row of each process seen in the last 30 s.
CREATE TABLE IF NOT EXISTS {{db}}.level_processes{{local}}{{on_cluster}}
(
    Service String,
    Instance String,
    Collector String,
    Connected UInt8,
    Loggers String,
    ConnectedAt String,
    ReportedAt String,
    SeenAt DateTime,
    Version UInt64
)
ENGINE = {{engine(MergeTree)}}
PARTITION BY toDate(SeenAt)
ORDER BY (Service, Instance)
