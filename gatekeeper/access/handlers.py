"""The handler contract shared by authenticators, authorizers, mutators and error handlers.

`catalog.py` lists every handler by kind and name with its frozen config dataclass. The rule compiler
merges the global `<kind>.<name>.config` with the rule's `config`, builds the dataclass (problems name
file, line, rule and key) and instantiates the handler once per rule.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

import httpx

from gatekeeper.access.ports import PermissionChecker, SessionSource
from gatekeeper.access.request_view import RequestView
from gatekeeper.access.template import HeaderMap, TemplateError, URLView, compile_template
from gatekeeper.config.types import Duration
from gatekeeper.errors import GatekeeperError
from gatekeeper.jwks import JwksCache

KINDS = ("authenticators", "authorizers", "mutators", "errors")


class NotResponsible(Exception):
    """"Not mine, ask the next one": authenticators and error handlers."""


@dataclass(slots=True)
class AuthSession:
    """Oathkeeper's AuthenticationSession: what templates and later handlers see."""

    view: RequestView
    captures: tuple[str, ...] = ()
    subject: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    header: dict[str, str] = field(default_factory=dict)
    authenticator: str = ""
    # set by session authenticators: re-asks whether the session is still active (long-lived connections)
    still_valid: Callable[[], Awaitable[bool]] | None = None
    expires_at: str = ""  # RFC 3339, when the session ends ("" unknown)

    def template_data(self) -> dict[str, Any]:
        """The template root; `.Header` and `.MatchContext` are built only when a template reads them."""
        return {"Subject": self.subject, "Extra": self.extra, "Header": _SessionHeaders(self.header),
                "MatchContext": _MatchContext(self)}

    def as_json(self) -> dict[str, Any]:
        """The session as remote handlers (hydrator, remote_json payloads) receive it."""
        view = self.view
        return {
            "subject": self.subject, "extra": self.extra,
            "header": {k: [v] for k, v in self.header.items()},
            "match_context": {"regexp_capture_groups": list(self.captures), "url": view.full_url,
                              "method": view.method,
                              "header": {k: [v] for k, v in view.headers.items()}},
        }


class _SessionHeaders:
    """`.Header`: the headers earlier mutators set; `.Get` is case-insensitive."""

    __slots__ = ("_header",)

    def __init__(self, header: dict[str, str]) -> None:
        self._header = header

    def Get(self, name: str) -> str:  # noqa: N802 - Go's method name
        wanted = name.lower()
        return next((v for k, v in self._header.items() if k.lower() == wanted), "")


class _MatchContext:
    """`.MatchContext`: capture groups, URL, method and request headers of the matched request."""

    __slots__ = ("_session",)

    def __init__(self, session: AuthSession) -> None:
        self._session = session

    @property
    def RegexpCaptureGroups(self) -> list[str]:  # noqa: N802
        return list(self._session.captures)

    @property
    def URL(self) -> URLView:  # noqa: N802
        view = self._session.view
        return URLView(view.scheme, view.host, view.path, view.query)

    @property
    def Method(self) -> str:  # noqa: N802
        return self._session.view.method

    @property
    def Header(self) -> HeaderMap:  # noqa: N802
        return HeaderMap(self._session.view.headers.get)


@dataclass
class Deps:
    """What handlers may use: the control-plane HTTP client, the session source, key caches, permission checks."""

    http: httpx.AsyncClient
    session_source: SessionSource | None
    jwks: JwksCache
    permissions: PermissionChecker | None = None


class Authenticator(Protocol):
    async def authenticate(self, session: AuthSession) -> None: ...


class Authorizer(Protocol):
    async def authorize(self, session: AuthSession) -> None: ...


class Mutator(Protocol):
    #: header names this mutator may set (their client copies are stripped before mutators run)
    sets_headers: tuple[str, ...]

    async def mutate(self, session: AuthSession) -> None: ...


@dataclass(frozen=True)
class NoConfig:
    """For handlers without settings."""


@dataclass(frozen=True)
class HandlerType:
    """A handler's frozen config dataclass and its class, built once per rule as `factory(config, deps)`."""

    config: type
    factory: Callable[[Any, Deps], Any]


@dataclass(frozen=True)
class Retry:
    """Oathkeeper's `retry` block of remote handlers; each handler gives its own defaults."""

    max_delay: Duration = Duration(0.5)
    give_up_after: Duration = Duration(1.0)


def retry_default(max_delay: float, give_up_after: float) -> Any:
    return field(default_factory=lambda: Retry(Duration(max_delay), Duration(give_up_after)))


def json_object(response: httpx.Response, what: str) -> dict[str, Any]:
    """The JSON object a back-end answered; anything else is a 500 naming `what`."""
    try:
        doc = response.json()
    except ValueError:
        raise GatekeeperError(reason=f"{what} answered with invalid JSON") from None
    if not isinstance(doc, dict):
        raise GatekeeperError(reason=f"{what} answered with a non-object")
    return doc


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """koanf-style merge: nested maps merge key by key, the override wins; lists and scalars replace."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def canonical(name: str) -> str:
    """Go's canonical header name: `x-user-id` -> `X-User-Id`."""
    return "-".join(p[:1].upper() + p[1:].lower() for p in name.split("-"))


@lru_cache(maxsize=4096)
def header_key(name: str) -> str:
    """The spelling-insensitive key of a header name (case, `_` vs `-`)."""
    return name.lower().replace("_", "-")


_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def is_token(name: str) -> bool:
    """An HTTP token, as header and cookie names must be (no spaces, separators, controls or non-ASCII)."""
    return _TOKEN.fullmatch(name) is not None


def is_http_url(url: str) -> bool:
    """An absolute http(s) URL httpx accepts: checked at load, so no request meets one it refuses."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return False
    return parsed.scheme in ("http", "https") and bool(parsed.host)


def template_problems(values: Mapping[str, str], key: str) -> list[tuple[str, str]]:
    """Names that are not HTTP tokens and templates that do not compile, as `(key.name, message)`."""
    out = []
    for name, source in values.items():
        if not is_token(name):
            out.append((f"{key}.{name}", f"{name!r} is not a valid name (letters, digits and !#$%&'*+-.^_`|~)"))
        try:
            compile_template(str(source))
        except TemplateError as exc:
            out.append((f"{key}.{name}", str(exc)))
    return out


_CONTROL = {c: None for c in range(32) if c != 9} | {127: None}


def header_value(value: str) -> str:
    """A rendered header value without CR, LF or other control characters (no header injection via traits)."""
    return value.translate(_CONTROL) if not value.isprintable() else value
