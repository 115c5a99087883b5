-- scope: tier
-- requires: skipIndexes
-- A bloom filter of the trace ids per granule, so a trace lookup (`TraceId = …` inside the
-- time range trace_index gives, see query-ui queries.ts) reads only the granules that may
-- hold the trace instead of every granule of the range. About 800 distinct ids in a granule
-- of 8 192 rows (traces of ~10 records): ~1 KiB of filter per granule at 1 % false positives.
-- Servers without data-skipping indexes (18.16) do without it (the trace id in a PREWHERE
-- still keeps the other columns unread). Parts written before it get it as they merge.
ALTER TABLE {{table}}{{on_cluster}}
    ADD INDEX IF NOT EXISTS trace_id_bloom TraceId TYPE bloom_filter(0.01) GRANULARITY 1
