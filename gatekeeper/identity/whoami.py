"""`GET /sessions/whoami` without a web framework: the credential from raw request headers, the answer as
bytes. A warm lookup costs one cache hit and no JSON encoding (the session's bytes are cached with it);
`?tokenize_as=<template>` adds `tokenized`, the session as a JWT (identity/tokenizer.py)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from urllib.parse import parse_qs

from gatekeeper.errors import GatekeeperError, TooManyRequests, error_json
from gatekeeper.identity import aal
from gatekeeper.identity.errors import NoActiveSession
from gatekeeper.identity.sessions import Sessions
from gatekeeper.identity.tokenizer import SessionTokenizer

NO_CACHE = b"private, no-cache, no-store, must-revalidate"
RawHeaders = Sequence[tuple[bytes, bytes]]


class Whoami:
    """The whoami answer: (status, headers, body) with lower-case header names, as Kratos sends it."""

    _HEADERS = ((b"content-type", b"application/json"), (b"cache-control", NO_CACHE))

    def __init__(self, sessions: Sessions, tokenizer: SessionTokenizer, *, cookie_name: str, highest_available: bool,
                 public_base_url: str) -> None:
        self.sessions, self.tokenizer = sessions, tokenizer
        self.cookie_prefix = cookie_name.encode() + b"="
        self.highest_available = highest_available
        self.aal2_login = aal.login_url(public_base_url, aal="aal2")

    def credential(self, headers: Iterable[tuple[bytes, bytes]]) -> str | None:
        """X-Session-Token, then the session cookie, then `Authorization: Bearer` (Kratos' order)."""
        cookie = bearer = None
        for key, value in headers:
            if key == b"x-session-token" and value:
                return value.decode("latin-1")
            if key == b"cookie" and cookie is None:
                for part in value.split(b";"):
                    part = part.strip()
                    if part.startswith(self.cookie_prefix):
                        cookie = part[len(self.cookie_prefix):].decode("latin-1").strip('"')
                        break
            elif key == b"authorization" and value[:7].lower() == b"bearer ":
                bearer = value[7:].strip().decode("latin-1")
        return cookie or bearer or None

    async def answer(self, headers: RawHeaders, query: bytes = b"") -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """`query`: the raw query string (`tokenize_as=<template>`)."""
        try:
            entry = await self.sessions.cached(self.credential(headers))
            if entry is None or not entry.active:
                raise NoActiveSession()
            if self.highest_available and entry.available_aal == "aal2" and entry.aal != "aal2":
                raise aal.Aal2Required(self.aal2_login)
            body = entry.body
            template = tokenize_as(query)
            if template:
                session = json.loads(body)
                session["tokenized"] = await self.tokenizer.tokenize(template, session)
                body = json.dumps(session, ensure_ascii=False, separators=(",", ":")).encode()
        except GatekeeperError as exc:
            return error_answer(exc)
        return 200, [*self._HEADERS, (b"content-length", b"%d" % len(body)),
                     (b"x-kratos-authenticated-identity-id", entry.identity_id.encode())], body


def tokenize_as(query: bytes) -> str:
    """The `tokenize_as` parameter of a raw query string ("" when absent; the first when repeated)."""
    if b"tokenize_as" not in query:
        return ""
    values = parse_qs(query.decode("latin-1")).get("tokenize_as")
    return values[0] if values else ""


def error_answer(exc: GatekeeperError) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Kratos' JSON error envelope for `exc`, never cached (Retry-After on 429)."""
    body = json.dumps(error_json(exc), ensure_ascii=False, separators=(",", ":")).encode()
    headers = [(b"content-type", b"application/json"), (b"cache-control", NO_CACHE),
               (b"content-length", b"%d" % len(body))]
    if isinstance(exc, TooManyRequests):
        headers.append((b"retry-after", str(exc.retry_after).encode()))
    return exc.status, headers, body
