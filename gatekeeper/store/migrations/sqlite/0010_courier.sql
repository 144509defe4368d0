-- Courier outbox (Kratos' courier_messages / courier_message_dispatches), claimed under SQLite's single writer.
CREATE TABLE courier_messages (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL DEFAULT 'email',
    channel TEXT NOT NULL DEFAULT 'email',
    status TEXT NOT NULL CHECK (status IN ('queued', 'processing', 'sent', 'abandoned')),
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    body_html TEXT NOT NULL DEFAULT '',
    template_type TEXT NOT NULL,
    template_data TEXT NOT NULL DEFAULT '{}',
    send_count INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    claim_token TEXT,
    claimed_until TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
-- The worker's claim query: due queued messages and expired claims, oldest first.
CREATE INDEX courier_messages_queued ON courier_messages (next_attempt_at) WHERE status = 'queued';
CREATE INDEX courier_messages_processing ON courier_messages (claimed_until) WHERE status = 'processing';
-- The admin listing: newest first, filtered by status or recipient.
CREATE INDEX courier_messages_created ON courier_messages (created_at DESC, id);
CREATE INDEX courier_messages_recipient ON courier_messages (recipient, created_at DESC);

CREATE TABLE courier_message_dispatches (
    id TEXT PRIMARY KEY,
    message_id TEXT NOT NULL REFERENCES courier_messages (id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('failed', 'success')),
    error TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX courier_message_dispatches_message ON courier_message_dispatches (message_id, created_at);
