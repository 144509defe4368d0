"""What error handlers share: the response they produce and Oathkeeper's `when` conditions."""

from __future__ import annotations

from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Protocol

from gatekeeper.access.request_view import Network, RequestView, in_networks, parse_networks
from gatekeeper.errors import GatekeeperError


@dataclass(frozen=True, slots=True)
class ErrorResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True)
class RemoteIp:
    match: tuple[str, ...] = ()
    respect_forwarded_for_header: bool = False


@dataclass(frozen=True)
class HeaderWhen:
    accept: tuple[str, ...] = ()
    content_type: tuple[str, ...] = ()


@dataclass(frozen=True)
class RequestWhen:
    remote_ip: RemoteIp | None = None
    header: HeaderWhen | None = None
    cidr: tuple[str, ...] = ()


@dataclass(frozen=True)
class When:
    error: tuple[str, ...] = ()
    request: RequestWhen | None = None


@dataclass(frozen=True)
class HandlerBase:
    when: tuple[When, ...] = field(default_factory=tuple)


def error_name(status: int) -> str:
    """`unauthorized`, `forbidden`, `not_found`, `internal_server_error`, `too_many_requests`..."""
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "internal_server_error"


def _mimes(value: str, default: str) -> list[str]:
    items = [part.split(";", 1)[0].strip().lower() for part in value.split(",")] if value else []
    return [m for m in items if m] or [default]


def _mime_match(wanted: str, got: str) -> bool:
    if wanted == got or wanted == "*/*":
        return True
    w_type, _, w_sub = wanted.partition("/")
    g_type, _, _ = got.partition("/")
    return w_sub == "*" and w_type == g_type and got != "*/*"


class Condition:
    """One compiled `when` entry (an AND of its parts)."""

    def __init__(self, when: When) -> None:
        self.errors = frozenset(when.error)
        req = when.request or RequestWhen()
        remote = req.remote_ip or RemoteIp(match=req.cidr)
        self.networks: tuple[Network, ...] = parse_networks(remote.match)
        self.forwarded = remote.respect_forwarded_for_header
        header = req.header or HeaderWhen()
        self.accept = tuple(a.lower() for a in header.accept)
        self.content_type = tuple(c.lower() for c in header.content_type)

    def matches(self, error: GatekeeperError, view: RequestView | None) -> bool:
        if self.errors and error_name(error.status) not in self.errors:
            return False
        if view is None:
            return not (self.networks or self.accept or self.content_type)
        if self.networks:
            candidates = [view.client_ip]
            if self.forwarded:
                candidates += [p.strip() for p in view.headers.get("x-forwarded-for").split(",") if p.strip()]
            if not any(in_networks(ip, self.networks) for ip in candidates):
                return False
        if self.accept:
            got = _mimes(view.headers.get("accept"), "application/octet-stream")
            if not any(_mime_match(w, g) for w in self.accept for g in got):
                return False
        if self.content_type:
            got = _mimes(view.headers.get("content-type"), "application/octet-stream")
            if not any(_mime_match(w, g) for w in self.content_type for g in got):
                return False
        return True


class ErrorHandler(Protocol):
    """Renders a refused request's answer, when its `when` conditions hold."""

    def responsible(self, error: GatekeeperError, view: RequestView | None) -> bool: ...

    def render(self, error: GatekeeperError, view: RequestView | None) -> ErrorResponse: ...


class WhenMixin:
    conditions: tuple[Condition, ...]

    def responsible(self, error: GatekeeperError, view: RequestView | None) -> bool:
        return not self.conditions or any(c.matches(error, view) for c in self.conditions)
