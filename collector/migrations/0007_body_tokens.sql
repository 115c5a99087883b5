-- scope: tier
-- unless: skipIndexes
-- distributed: {{table_name}}_tokens
-- Where each word of the body occurs, per tier and ten minutes, for servers without
-- data-skipping indexes (18.16): a text search whose newest hour did not fill a page
-- reads only the ten-minute buckets that hold every word of the text (query-ui
-- text-buckets.ts) instead of the whole range. Words are the runs of [a-z0-9] of the
-- lower-cased body. Servers with skip indexes use the n-gram index of 0006 instead.
CREATE TABLE IF NOT EXISTS {{table_name}}_tokens{{local}}{{on_cluster}}
(
    Bucket DateTime,
    Token String,
    Records UInt64
)
ENGINE = {{engine(SummingMergeTree, Records)}}
PARTITION BY toDate(Bucket)
ORDER BY (Token, Bucket);

-- Fed from this tier's inserts, one row per word and bucket of each insert block.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{table}}_tokens_view{{on_cluster}}
TO {{table_name}}_tokens{{local}}
AS SELECT
    toDateTime(intDiv(toUInt32(Timestamp), 600) * 600) AS Bucket,
    arrayJoin(extractAll(lower(Body), '[a-z0-9]+')) AS Token,
    count() AS Records
FROM {{table}}
GROUP BY Bucket, Token
