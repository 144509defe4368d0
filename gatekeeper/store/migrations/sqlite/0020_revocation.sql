-- Session revocation events: every process sharing this file polls them by sequence number and drops the
-- named sessions from its cache. Rows are pruned once older than any process's cache TTL.
CREATE TABLE session_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX session_events_created ON session_events (created_at);
