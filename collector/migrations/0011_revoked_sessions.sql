-- scope: database
-- distributed: {{db}}.revoked_sessions
-- Web UI sessions that were logged out before they expired. Sessions are signed cookies
-- (query-ui server/sessions.ts): any query server accepts any other's, and this table is
-- how a logout on one reaches the others. A row is needed only until the session would
-- have expired (Until); retention drops the days past.
CREATE TABLE IF NOT EXISTS {{db}}.revoked_sessions{{local}}{{on_cluster}}
(
    SessionId String,
    Until DateTime
)
ENGINE = {{engine(MergeTree)}}
PARTITION BY toDate(Until)
ORDER BY SessionId
