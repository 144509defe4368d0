"""Data source names, accepted the way Kratos accepts them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit, urlunsplit


@dataclass(frozen=True)
class Dsn:
    """`memory`, `sqlite://PATH?opts`, `sqlite:///abs/path`, or `postgres(ql)://...`."""

    dialect: Literal["sqlite", "postgres"]
    url: str
    path: str = ""  # SQLite file path, ":memory:" for `memory`

    @classmethod
    def parse(cls, dsn: str) -> Dsn:
        if dsn == "memory" or dsn.startswith("sqlite://:memory:") or dsn == "sqlite://memory":
            return cls("sqlite", dsn, ":memory:")
        if dsn.startswith("sqlite://") or dsn.startswith("sqlite3://"):
            rest = dsn.split("://", 1)[1].split("?", 1)[0]
            if not rest:
                raise ValueError("expected a file path after sqlite://, e.g. sqlite://./var/gatekeeper.db")
            return cls("sqlite", dsn, rest)
        if dsn.startswith(("postgres://", "postgresql://")):
            parts = urlsplit(dsn)
            if not parts.hostname and "host=" not in parts.query:
                raise ValueError("expected a host in the PostgreSQL DSN, e.g. postgres://user@host:5432/db")
            return cls("postgres", dsn)
        raise ValueError("expected memory, sqlite://PATH or postgres://USER@HOST/DB")

    def masked(self) -> str:
        """The DSN with any password replaced, safe for logs and error messages."""
        parts = urlsplit(self.url)
        if parts.password is None:
            return self.url
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return urlunsplit(parts._replace(netloc=netloc))
