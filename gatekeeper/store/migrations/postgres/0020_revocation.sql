-- Session revocation events: every replica polls them by sequence number (LISTEN/NOTIFY only wakes it sooner),
-- and drops the named sessions from its cache. Rows are pruned once older than any replica's cache TTL.
CREATE TABLE session_events (
    seq BIGSERIAL PRIMARY KEY,
    token_hash TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX session_events_created ON session_events (created_at);
