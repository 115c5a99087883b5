-- scope: tier
-- redistributed: {{table}}
-- Log patterns (collector/src/model/pattern.ts): every record's message template id,
-- computed by the collector as it stores the record; 0 for records stored before.
-- (Not a MATERIALIZED column computed by ClickHouse: inserts through a Distributed table
-- send it to the shards, which refuse to be given a materialized column.)
ALTER TABLE {{table}}{{on_cluster}} ADD COLUMN PatternId UInt64
