-- Identities, their credentials and addresses; self-service flows and errors; sessions.
CREATE TABLE identities (
    id TEXT PRIMARY KEY,
    schema_id TEXT NOT NULL,
    state TEXT NOT NULL,
    traits TEXT NOT NULL,
    metadata_public TEXT,
    metadata_admin TEXT,
    external_id TEXT UNIQUE,
    state_changed_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE identity_credentials (
    id TEXT PRIMARY KEY,
    identity_id TEXT NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    config TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (identity_id, type)
);
CREATE TABLE identity_credential_identifiers (
    type TEXT NOT NULL,
    identifier TEXT NOT NULL,
    credential_id TEXT NOT NULL REFERENCES identity_credentials (id) ON DELETE CASCADE,
    identity_id TEXT NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    PRIMARY KEY (type, identifier)
);
CREATE INDEX identity_credential_identifiers_identity ON identity_credential_identifiers (identity_id);
CREATE TABLE identity_addresses (
    id TEXT PRIMARY KEY,
    identity_id TEXT NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    via TEXT NOT NULL,
    value TEXT NOT NULL,
    verified BOOLEAN NOT NULL DEFAULT FALSE,
    status TEXT NOT NULL DEFAULT 'pending',
    verified_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (kind, via, value)
);
CREATE INDEX identity_addresses_identity ON identity_addresses (identity_id);
CREATE TABLE selfservice_flows (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    type TEXT NOT NULL,
    state TEXT,
    body TEXT NOT NULL,
    internal TEXT NOT NULL,
    csrf_hash TEXT NOT NULL,
    issued_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX selfservice_flows_expires ON selfservice_flows (expires_at);
CREATE TABLE selfservice_errors (
    id TEXT PRIMARY KEY,
    error TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    identity_id TEXT NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    logout_token_hash TEXT NOT NULL UNIQUE,
    active BOOLEAN NOT NULL,
    aal TEXT NOT NULL,
    authentication_methods TEXT NOT NULL,
    devices TEXT NOT NULL,
    issued_at TIMESTAMPTZ NOT NULL,
    authenticated_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_identity ON sessions (identity_id);
