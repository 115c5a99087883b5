-- scope: tier
-- Feeds trace_index from this tier's inserts (one row per trace and service per insert block).
CREATE MATERIALIZED VIEW IF NOT EXISTS {{table}}_trace_index{{on_cluster}}
TO {{db}}.trace_index{{local}}
AS SELECT
    TraceId,
    {{tier}} AS Tier,
    ServiceName,
    min(Timestamp) AS MinTimestamp,
    max(Timestamp) AS MaxTimestamp,
    count() AS Records
FROM {{table}}
WHERE TraceId != ''
GROUP BY TraceId, ServiceName
