-- scope: tier
-- redistributed: {{table}}
-- Exactly-once columns (see collector/src/sinks/clickhouse/batch-id.ts and request-ids.ts):
-- BatchId, the id of the insert batch each row came in (random, the same for every row of
-- a batch): a batch whose insert outcome is unknown (answer cut, collector killed, spool
-- replay) is inserted again only if no row with its id is stored.
-- RequestId, the id of the OTLP request the row came in (a hash of its bytes): a request
-- that a client sends again after its collector died is not stored a second time.
-- Both are 0 for rows stored before these columns existed and for rows without one.
-- 18.16 has no ADD COLUMN IF NOT EXISTS; a column that already exists counts as added
-- (schema.ts). In cluster mode the Distributed table over the shards is made again with
-- the new columns (`redistributed`): distributed DDL cannot ALTER it where shards are
-- replicated, and it holds no rows (inserts through it are synchronous).
ALTER TABLE {{table}}{{on_cluster}} ADD COLUMN BatchId UInt64;
ALTER TABLE {{table}}{{on_cluster}} ADD COLUMN RequestId UInt64
