-- scope: tier
-- Feeds patterns from this tier's inserts.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{table}}_patterns{{on_cluster}}
TO {{db}}.patterns{{local}}
AS SELECT
    toDate(toDateTime(Timestamp)) AS Day,
    PatternId,
    ServiceName,
    {{tier}} AS Tier,
    anyState(Body) AS Sample,
    minState(toUInt32(toDateTime(Timestamp))) AS FirstSeen,
    maxState(toUInt32(toDateTime(Timestamp))) AS LastSeen,
    countState() AS Records
FROM {{table}}
GROUP BY Day, PatternId, ServiceName
