"""Kratos' sections: `selfservice`, `identity`, `session`, `hashers`, `courier`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gatekeeper.config.types import Duration


@dataclass(frozen=True)
class Selfservice:
    default_browser_return_url: str = ""
    allowed_return_urls: tuple[str, ...] = ()
    flows: Mapping[str, Any] = field(default_factory=dict)
    methods: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SchemaRef:
    id: str
    url: str


@dataclass(frozen=True)
class Identity:
    default_schema_id: str = "default"
    schemas: tuple[SchemaRef, ...] = ()


@dataclass(frozen=True)
class SessionCookie:
    name: str = "ory_kratos_session"
    domain: str = ""
    path: str = "/"
    persistent: bool = True
    same_site: str = "Lax"


@dataclass(frozen=True)
class Session:
    lifespan: Duration = Duration(24 * 3600.0)
    earliest_possible_extend: Duration | None = None
    cookie: SessionCookie = field(default_factory=SessionCookie)
    whoami: Mapping[str, Any] = field(default_factory=dict)
    cache_ttl: Duration = Duration(5.0)


@dataclass(frozen=True)
class Hashers:
    algorithm: str = "argon2"
    argon2: Mapping[str, Any] = field(default_factory=dict)
    bcrypt: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Courier:
    smtp: Mapping[str, Any] = field(default_factory=dict)
    message_retries: int = 5
    template_override_path: str = ""
