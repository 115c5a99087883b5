-- scope: database
-- distributed: {{db}}.metric_definitions
-- The declared metrics as the collectors run them: a row per metric whenever a
-- collector starts or reloads its configuration. Readers (the query API, `distlog
-- metrics`) take each metric's latest row (argMax by Version). Never dropped: small.
CREATE TABLE IF NOT EXISTS {{db}}.metric_definitions{{local}}{{on_cluster}}
(
    Name String,
    Kind String,
    Value String,
    By Array(String),
    RetentionDays UInt16,
    Description String,
    Unit String,
    MatchText String,
    Collector String,
    Version UInt64,
    UpdatedAt DateTime
)
ENGINE = {{engine(MergeTree)}}
PARTITION BY toYYYYMM(UpdatedAt)
ORDER BY (Name, Version)
