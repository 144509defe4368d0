-- Attempt counters for throttling (login, codes), shared by all replicas.
CREATE TABLE throttle_counters (
    key TEXT PRIMARY KEY,
    window_start TIMESTAMPTZ NOT NULL,
    hits INTEGER NOT NULL
);
