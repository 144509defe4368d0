-- Attempt counters for throttling (login, codes), shared by all processes using this database.
CREATE TABLE throttle_counters (
    key TEXT PRIMARY KEY,
    window_start TIMESTAMP NOT NULL,
    hits INTEGER NOT NULL
);
