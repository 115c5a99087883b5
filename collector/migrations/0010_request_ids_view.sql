-- scope: tier
-- Feeds request_ids from this tier's inserts (one row per request per insert block).
CREATE MATERIALIZED VIEW IF NOT EXISTS {{table}}_request_ids{{on_cluster}}
TO {{db}}.request_ids{{local}}
AS SELECT
    RequestId,
    {{tier_table}} AS TableName,
    now() AS StoredAt
FROM {{table}}
WHERE RequestId != 0
GROUP BY RequestId
