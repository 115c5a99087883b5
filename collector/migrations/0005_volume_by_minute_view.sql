-- scope: tier
-- Feeds volume_by_minute from this tier's inserts.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{table}}_volume{{on_cluster}}
TO {{db}}.volume_by_minute{{local}}
AS SELECT
    toStartOfMinute(Timestamp) AS Minute,
    {{tier}} AS Tier,
    ServiceName,
    ScopeName,
    SeverityNumber,
    count() AS Records
FROM {{table}}
GROUP BY Minute, ServiceName, ScopeName, SeverityNumber
