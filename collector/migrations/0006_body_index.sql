-- scope: tier
-- requires: skipIndexes
-- A bloom filter of the body's 3-grams (lower-cased) per granule, so a text search
-- (`lower(Body) LIKE '%term%'`, see query-ui filters.ts) reads only the granules that
-- may hold the term. Servers without data-skipping indexes (18.16) do not get this
-- migration until they are upgraded. Parts written before it get the index as they merge.
-- 32 KiB per 8 192 rows: with the ~10–20 thousand distinct 3-grams of a granule of log
-- lines, about 2 % false positives.
ALTER TABLE {{table}}{{on_cluster}}
    ADD INDEX IF NOT EXISTS body_ngrams lower(Body) TYPE ngrambf_v1(3, 32768, 2, 0) GRANULARITY 1
