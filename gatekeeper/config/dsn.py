"""Data source names, accepted the way Kratos accepts them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl, urlsplit, urlunsplit

_PASSWORD_PARAM = re.compile(r"((?:^|&)password=)[^&]*", re.IGNORECASE)
_EXPECTED = "expected memory, sqlite://PATH or postgres://USER@HOST/DB"


@dataclass(frozen=True)
class Dsn:
    """`memory`, `sqlite://PATH?opts`, `sqlite:///abs/path`, or `postgres(ql)://...`."""

    dialect: Literal["sqlite", "postgres"]
    url: str
    path: str = ""  # SQLite file path, ":memory:" for `memory`

    @property
    def in_memory(self) -> bool:
        """SQLite in memory: nothing outlives the process, so `serve` migrates it on every start, as Kratos."""
        return self.path == ":memory:"

    @classmethod
    def parse(cls, dsn: str) -> Dsn:
        """Raises ValueError (whose text never contains the DSN, which may hold a password)."""
        if dsn == "memory":
            return cls("sqlite", dsn, ":memory:")
        scheme, sep, rest = dsn.partition("://")
        if not sep:
            raise ValueError(_EXPECTED)
        if scheme in ("sqlite", "sqlite3"):
            path = rest.split("?", 1)[0]
            if path in ("memory", ":memory:", "file::memory:"):
                return cls("sqlite", dsn, ":memory:")
            if not path:
                raise ValueError("expected a file path after sqlite://, e.g. sqlite://./var/gatekeeper.db")
            return cls("sqlite", dsn, path)
        if scheme in ("postgres", "postgresql"):
            parts = urlsplit(dsn)
            if not parts.hostname and "host=" not in parts.query:
                raise ValueError("expected a host in the PostgreSQL DSN, e.g. postgres://user@host:5432/db")
            max_conns = dict(parse_qsl(parts.query)).get("max_conns", "10")
            if not max_conns.isdigit() or int(max_conns) < 1:
                raise ValueError(f"expected max_conns to be a positive number, got {max_conns!r}")
            return cls("postgres", dsn)
        shown = scheme if scheme.isascii() and scheme.replace("+", "").isalnum() else "?"
        raise ValueError(f"unsupported database {shown}://: {_EXPECTED}")

    def masked(self) -> str:
        """The DSN with any password replaced, safe for logs and error messages."""
        if self.dialect == "sqlite":
            return self.url
        parts = urlsplit(self.url)
        netloc = parts.netloc
        if parts.password is not None:
            netloc = netloc.replace(f":{parts.password}@", ":***@", 1)
        query = _PASSWORD_PARAM.sub(r"\1***", parts.query)
        return urlunsplit(parts._replace(netloc=netloc, query=query))
