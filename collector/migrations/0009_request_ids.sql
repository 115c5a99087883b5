-- scope: database
-- distributed: {{db}}.request_ids
-- Which OTLP requests each tier stored, and when: what a collector reads before it
-- inserts a batch, so that a request a client sends again (its first answer was lost
-- when a collector died) is stored once, whichever collector it reaches. Filled by one
-- materialized view per tier (0010), one row per request per insert; kept a day.
CREATE TABLE IF NOT EXISTS {{db}}.request_ids{{local}}{{on_cluster}}
(
    RequestId UInt64,
    TableName String,
    StoredAt DateTime
)
ENGINE = {{engine(MergeTree)}}
PARTITION BY toDate(StoredAt)
ORDER BY (RequestId, TableName)
