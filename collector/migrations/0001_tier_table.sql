-- scope: tier
-- distributed: {{table}}
-- One table per retention tier. Works on ClickHouse 18.16 and later: no Map
-- (attributes are Nested key/value arrays); the exact time is TimeUnixNano, and
-- Timestamp is DateTime64(9) where the server has it, else DateTime seconds
-- ({{time_type}}, chosen in schema.ts); TTL only where the server has it ({{ttl}}).
-- Partitions are days, so retention can always be enforced by dropping partitions.
CREATE TABLE IF NOT EXISTS {{table}}{{on_cluster}}
(
    Timestamp {{time_type}},
    TimeUnixNano UInt64,
    ObservedTimeUnixNano UInt64,
    SeverityNumber UInt8,
    SeverityText String,
    ServiceName String,
    ScopeName String,
    ScopeVersion String,
    EventName String,
    Body String,
    TraceId String,
    SpanId String,
    TraceFlags UInt8,
    ResourceSchemaUrl String,
    ResourceAttributes Nested(key String, value String),
    ScopeAttributes Nested(key String, value String),
    LogAttributes Nested(key String, value String),
    DroppedAttributesCount UInt32
)
ENGINE = {{engine(MergeTree)}}
PARTITION BY toDate(Timestamp)
ORDER BY (ServiceName, Timestamp)
{{ttl}}
SETTINGS index_granularity = 8192
