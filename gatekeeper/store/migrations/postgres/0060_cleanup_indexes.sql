-- Housekeeping (identity/cleanup.py): each batch finds its stale rows through an index, not a table scan.
CREATE INDEX throttle_counters_window_start ON throttle_counters (window_start);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX courier_messages_finished ON courier_messages (updated_at) WHERE status IN ('sent', 'abandoned');
CREATE INDEX sessions_revoked ON sessions (updated_at) WHERE active = FALSE;
