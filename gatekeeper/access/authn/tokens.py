"""Where bearer-ish authenticators find their token (`token_from`), and GJSON-style paths."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from gatekeeper.access.request_view import RequestView


@dataclass(frozen=True)
class TokenFrom:
    """Exactly one of `header`, `query_parameter`, `cookie` (Oathkeeper's `token_from`)."""

    header: str = ""
    query_parameter: str = ""
    cookie: str = ""


def find_token(view: RequestView, source: TokenFrom | None, *, fallback_headers: tuple[str, ...] = ()) -> str:
    """The token, or "" when there is none. Default: `Authorization: Bearer <token>` (scheme case-insensitive)."""
    if source is not None and source.header and source.header.lower() != "authorization":
        return view.headers.get(source.header).strip()
    if source is not None and source.query_parameter:
        values = parse_qs(view.query).get(source.query_parameter)
        return values[0] if values else ""
    if source is not None and source.cookie:
        return view.cookies.get(source.cookie, "")
    scheme, _, token = view.headers.get("authorization").strip().partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    for name in fallback_headers:
        if value := view.headers.get(name).strip():
            return value
    return ""


def token_source_problems(source: TokenFrom | None) -> list[tuple[str, str]]:
    if source is None:
        return []
    given = [x for x in (source.header, source.query_parameter, source.cookie) if x]
    if len(given) != 1:
        return [("token_from", "needs exactly one of header, query_parameter or cookie")]
    return []


_MISSING = object()


def gjson(doc: Any, path: str) -> Any:
    """The subset of GJSON paths rules use: `@this`, dotted keys, numeric indexes. None when absent."""
    if path in ("", "@this"):
        return doc
    value = doc
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part, _MISSING)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
        if value is _MISSING:
            return None
    return value
