"""The session check shared by `cookie_session` and `bearer_token`.

Local mode (no `check_session_url`): ask gatekeeper's own session source (token -> session JSON or
None; StoreUnavailable -> deny). Remote mode: call a Kratos-compatible `/sessions/whoami` the way
Oathkeeper does (path and query replaced by the request's unless preserved, only listed headers
forwarded). Either way: subject from `subject_from`, extra from `extra_from`. Unset, they default by mode:
against gatekeeper's own store to `identity.id` and `@this` (the session JSON), against a remote
`check_session_url` to Oathkeeper's defaults (`subject`, or `sub` for bearer_token, and `extra`), so that rule
files written for Oathkeeper inject what they injected there.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import httpx

from gatekeeper.access.authn.tokens import gjson
from gatekeeper.access.handlers import AuthSession, Deps, json_object
from gatekeeper.access.ports import SessionSource
from gatekeeper.errors import Forbidden, StoreUnavailable, TooManyRequests, Unauthorized

log = logging.getLogger("gatekeeper.access.authn")

_RATE_HEADERS = ("retry-after", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "x-ratelimit-type")


@dataclass(frozen=True)
class SessionCheck:
    """The keys cookie_session and bearer_token share (`subject_from`/`extra_from` empty: the mode's default)."""

    remote_subject_from: ClassVar[str] = "subject"

    check_session_url: str = ""
    preserve_path: bool = False
    preserve_query: bool = True
    preserve_host: bool = False
    forward_http_headers: tuple[str, ...] = ()
    additional_headers: Mapping[str, str] = field(default_factory=dict)
    force_method: str = ""
    subject_from: str = ""
    extra_from: str = ""

    @cached_property
    def paths(self) -> tuple[str, str]:
        """(subject_from, extra_from) as applied: the configured ones, else the mode's defaults (worked out once,
        not per request)."""
        if self.check_session_url:
            return self.subject_from or self.remote_subject_from, self.extra_from or "extra"
        return self.subject_from or "identity.id", self.extra_from or "@this"


async def _still_active(source: SessionSource, token: str) -> bool:
    """For long-lived connections: is the session still active? (Cannot tell: no, fail closed.)"""
    try:
        doc = await source.session_for_token(token)
    except Exception:  # noqa: BLE001 - store unreachable or anything else: the connection ends
        return False
    return doc is not None and doc.get("active") is not False


async def _still_remote(session: AuthSession, cfg: SessionCheck, deps: Deps, forward: Mapping[str, str]) -> bool:
    """For long-lived connections in remote mode: does the session check still accept the session?"""
    try:
        doc = await _remote(session, cfg, deps, forward)
    except Exception:  # noqa: BLE001 - refused, unreachable, anything: the connection ends (fail closed)
        return False
    return doc.get("active") is not False


def url_problem(url: str) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"check_session_url must be an http(s) URL, got {url!r}"
    return None


async def check(session: AuthSession, cfg: SessionCheck, deps: Deps, token: str,
                forward: Mapping[str, str]) -> None:
    """Resolve `token` to a session and fill subject/extra; raises 401/403/429/503 on failure."""
    doc: Mapping[str, Any] | None
    if cfg.check_session_url:
        doc = await _remote(session, cfg, deps, forward)
        session.still_valid = partial(_still_remote, session, cfg, deps, forward)
        session.expires_at = str(doc.get("expires_at") or "")
    else:
        if deps.session_source is None:
            raise Unauthorized("Access credentials are invalid", reason="no session store is configured")
        try:
            doc = await deps.session_source.session_for_token(token)
        except StoreUnavailable:
            log.warning("session store unavailable: denying", extra={"authenticator": session.authenticator})
            raise
        if doc is None or doc.get("active") is False:
            raise Unauthorized("Access credentials are invalid", reason="the session is missing, expired or revoked")
        session.still_valid = partial(_still_active, deps.session_source, token)
        session.expires_at = str(doc.get("expires_at") or "")
    subject_from, extra_from = cfg.paths
    subject = gjson(doc, subject_from)
    extra = gjson(doc, extra_from)
    if subject is not None and not isinstance(subject, str):
        raise Forbidden(reason=f"subject_from {subject_from!r} is not a string")
    if extra is not None and not isinstance(extra, Mapping):
        raise Forbidden(reason=f"extra_from {extra_from!r} is not an object")
    session.subject = subject or ""
    session.extra = dict(extra or {})


async def _remote(session: AuthSession, cfg: SessionCheck, deps: Deps, forward: Mapping[str, str]) -> dict[str, Any]:
    view = session.view
    parts = urlsplit(cfg.check_session_url)
    path = parts.path if cfg.preserve_path else view.path
    query = parts.query if cfg.preserve_query else view.query
    url = urlunsplit((parts.scheme, parts.netloc, path, query, ""))
    headers = {name: value for name in cfg.forward_http_headers if (value := view.headers.get(name))}
    headers.update(forward)
    headers.update(cfg.additional_headers)
    if cfg.preserve_host:
        headers["X-Forwarded-Host"] = view.host
    try:
        response = await deps.http.request(cfg.force_method or view.method, url, headers=headers)
    except httpx.HTTPError as exc:
        log.warning("session check unreachable: denying", extra={"url": cfg.check_session_url,
                                                                   "error": type(exc).__name__})
        raise Forbidden(reason="the session check endpoint could not be reached") from None
    if response.status_code == 429:
        error = TooManyRequests(retry_after=_int(response.headers.get("retry-after")))
        error.details = {"headers": {k: v for k, v in response.headers.items() if k.lower() in _RATE_HEADERS}}
        raise error
    if response.status_code != 200:
        raise Unauthorized("Access credentials are invalid",
                           reason=f"the session check answered {response.status_code}")
    return json_object(response, "the session check")


def _int(value: str | None) -> int:
    try:
        return max(int(value or 1), 0)
    except ValueError:
        return 1
