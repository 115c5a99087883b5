-- scope: tier
-- distributed: {{table}}
-- One table per retention tier. Works on ClickHouse 18.16 and later: no DateTime64
-- or Map (timestamps are DateTime seconds plus exact UInt64 nanoseconds, attributes
-- are Nested key/value arrays); TTL only where the server has it ({{ttl}}).
-- Partitions are days, so retention can always be enforced by dropping partitions.
CREATE TABLE IF NOT EXISTS {{table}}{{on_cluster}}
(
    Timestamp DateTime,
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
