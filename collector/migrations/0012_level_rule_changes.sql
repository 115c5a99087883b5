-- scope: database
-- distributed: {{db}}.level_rule_changes
-- Run-time level rules and their history, shared by every collector: one row per
-- change (set, replaced, cleared, expired) carrying the whole rule. The rules in force
-- are the rules whose latest change (argMax by Version) is `set`; collectors check
-- count() and max(Version) every second and push what changed to their processes
-- (collector/src/control/level-store.ts). Never dropped by retention: it is the audit trail.
CREATE TABLE IF NOT EXISTS {{db}}.level_rule_changes{{local}}{{on_cluster}}
(
    Version UInt64,
    RuleId String,
    Change String,
    Service String,
    Logger String,
    Level String,
    ExpiresAt String,
    SetBy String,
    SetAt String,
    OnError UInt8,
    ChangedBy String,
    ChangedAt DateTime,
    Collector String
)
ENGINE = {{engine(MergeTree)}}
PARTITION BY toYYYYMM(ChangedAt)
ORDER BY (RuleId, Version)
