"""One normalised view of a request, used for matching, for the handlers and for what the upstream receives.

The path is percent-decoded and cleaned once (dot-segments, duplicate slashes, trailing slash, as
Oathkeeper 26.2's `path.Clean`). Encodings that would let the matched path and the upstream's idea
of the path disagree are refused with 400: encoded `/` or `\\`, NUL, control characters, invalid
UTF-8, ambiguous hosts. The same function serves the proxy and `X-Forwarded-Uri` in decisions mode.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import unquote_to_bytes

from gatekeeper.errors import BadRequest, InvalidRequestPath

_FORBIDDEN_ENCODED = re.compile(rb"%(2f|5c|00)", re.IGNORECASE)
_BAD_PERCENT = re.compile(rb"%(?![0-9a-fA-F]{2})")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = re.compile(rf"^(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{{1,5}})?$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_FORWARDED_PREFIXES = (b"x-forwarded-", b"forwarded")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Headers:
    """Request headers as ASGI gives them (lower-case bytes names); lookups by lower-case str name."""

    __slots__ = ("raw", "_map")

    def __init__(self, raw: Sequence[tuple[bytes, bytes]]) -> None:
        self.raw = list(raw)
        self._map: dict[str, str] | None = None

    def _index(self) -> dict[str, str]:
        if self._map is None:
            out: dict[str, str] = {}
            for k, v in self.raw:
                name = k.decode("latin-1").lower()
                value = v.decode("latin-1")
                if name in out:
                    value = f"{out[name]}{'; ' if name == 'cookie' else ', '}{value}"
                out[name] = value
            self._map = out
        return self._map

    def get(self, name: str, default: str = "") -> str:
        return self._index().get(name.lower(), default)

    def __contains__(self, name: str) -> bool:
        return name.lower() in self._index()

    def items(self) -> Iterable[tuple[str, str]]:
        return self._index().items()


@dataclass(slots=True)
class RequestView:
    """What a rule sees: method, scheme, host, clean decoded path, raw query, headers, client address."""

    method: str
    scheme: str
    host: str
    path: str
    query: str
    headers: Headers
    client_ip: str
    _cookies: dict[str, str] | None = field(default=None, repr=False)
    body: Any = field(default=None, repr=False)  # async () -> bytes, set by the proxy (remote authorizers)

    @property
    def url(self) -> str:
        """The URL rules match: `scheme://host/path` (no query, as Oathkeeper)."""
        return f"{self.scheme}://{self.host}{self.path}"

    @property
    def full_url(self) -> str:
        return f"{self.url}?{self.query}" if self.query else self.url

    @property
    def cookies(self) -> dict[str, str]:
        if self._cookies is None:
            self._cookies = parse_cookies(self.headers.get("cookie"))
        return self._cookies


def parse_cookies(header: str) -> dict[str, str]:
    """Cookies of a `Cookie` header; a malformed pair is skipped, never an exception."""
    out: dict[str, str] = {}
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name:
            out.setdefault(name, value.strip().strip('"'))
    if not out and header:
        try:
            jar = SimpleCookie()
            jar.load(header)
            out = {k: m.value for k, m in jar.items()}
        except CookieError:
            return {}
    return out


_PLAIN = re.compile(rb"^(?:/[A-Za-z0-9_~!$&'()*+,=:@-][A-Za-z0-9._~!$&'()*+,=:@-]*)*/?$")


def clean_path(raw: bytes) -> str:
    """Decode and clean a raw request path; raises InvalidRequestPath for anything ambiguous."""
    if raw and _PLAIN.match(raw):  # nothing to decode, no dot-segment, no empty segment: already clean
        text = raw.decode("ascii")
        return text[:-1] if len(text) > 1 and text.endswith("/") else text
    if not raw.startswith(b"/"):
        raise InvalidRequestPath(reason="the request path must start with /")
    if _FORBIDDEN_ENCODED.search(raw):
        raise InvalidRequestPath(reason="the request path contains an encoded /, \\ or NUL")
    if _BAD_PERCENT.search(raw):
        raise InvalidRequestPath(reason="the request path contains a malformed percent-encoding")
    decoded = unquote_to_bytes(raw)
    if b"%" in decoded and _FORBIDDEN_ENCODED.search(decoded):
        raise InvalidRequestPath(reason="the request path is encoded twice")
    if any(b < 0x20 or b == 0x7F for b in decoded) or b"\\" in decoded:
        raise InvalidRequestPath(reason="the request path contains control characters or a backslash")
    try:
        text = decoded.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequestPath(reason="the request path is not valid UTF-8") from None
    if ";" in text and any(seg.split(";", 1)[0] in (".", "..") for seg in text.split("/") if ";" in seg):
        raise InvalidRequestPath(reason="the request path hides a dot-segment behind ';' parameters")
    return _clean(text)


def _clean(path: str) -> str:
    out: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if out:
                out.pop()
            continue
        out.append(segment)
    return "/" + "/".join(out)


def check_host(host: str) -> str:
    if not host or not _HOST.match(host):
        raise BadRequest("The request's Host header is missing or ambiguous", reason="invalid Host header")
    return host.lower()


def parse_networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def in_networks(ip: str, networks: Sequence[Network]) -> bool:
    if not networks or not ip:
        return False
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(addr in net for net in networks)


def single_header(raw: Sequence[tuple[bytes, bytes]], name: bytes) -> str | None:
    """The one value of header `name`; two different values are ambiguous (400)."""
    found: bytes | None = None
    for k, v in raw:
        if k == name:
            if found is not None and found != v:
                raise BadRequest("The request is ambiguous", reason=f"several {name.decode()} headers")
            found = v
    if found is None:
        return None
    text = found.decode("latin-1")
    if _CONTROL.search(text):
        raise BadRequest("The request is ambiguous", reason=f"control characters in {name.decode()}")
    return text


def strip_forwarded(raw: Sequence[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return [(k, v) for k, v in raw if not k.startswith(_FORWARDED_PREFIXES)]


def _forwarded_client(raw: Sequence[tuple[bytes, bytes]], peer: str, trusted: Sequence[Network]) -> str:
    """The client address behind trusted proxies: the right-most X-Forwarded-For entry not trusted."""
    chain: list[str] = []
    for k, v in raw:
        if k == b"x-forwarded-for":
            chain.extend(p.strip() for p in v.decode("latin-1").split(","))
    for hop in reversed(chain):
        if not in_networks(hop, trusted):
            return hop
    return chain[0] if chain else peer


def drop_headers(raw: Sequence[tuple[bytes, bytes]], names: frozenset[bytes]) -> list[tuple[bytes, bytes]]:
    """`raw` without the headers in `names` (lower-case, `-` spelling), whatever their spelling (`_` or `-`)."""
    if not names:
        return list(raw)
    return [(k, v) for k, v in raw if (k.replace(b"_", b"-") if b"_" in k else k) not in names]


def proxy_view(method: str, scheme: str, raw_path: bytes, query: bytes, raw: Sequence[tuple[bytes, bytes]],
               peer: str, trusted: Sequence[Network]) -> tuple[RequestView, bool]:
    """The view of a request arriving at the proxy (header names lower-case, values as received); returns
    (view, whether forwarded headers were honoured)."""
    honour = in_networks(peer, trusted)
    if not honour:
        raw = strip_forwarded(raw)
    host = check_host(single_header(raw, b"host") or "")
    client = peer
    if honour:
        proto = single_header(raw, b"x-forwarded-proto")
        if proto in ("http", "https", "ws", "wss"):
            scheme = proto
        client = _forwarded_client(raw, peer, trusted)
    if scheme in ("ws", "wss"):
        scheme = "https" if scheme == "wss" else "http"
    view = RequestView(method, scheme, host, clean_path(raw_path), query.decode("latin-1"), Headers(raw), client)
    return view, honour


_DECISION_HEADERS = frozenset({b"x-forwarded-method", b"x-forwarded-proto", b"x-forwarded-host", b"x-forwarded-uri",
                               b"host"})
# a request-target in origin-form: RFC 3986 path and query characters plus "[]{}|^`", which browsers send
# unencoded (the WHATWG URL standard leaves them as they are); the data-plane server takes the same set.
# Refused: SP, controls, '"', "<", ">", "\\", "#", bytes >= 0x80.
_TARGET_CHARS = r"A-Za-z0-9\-._~!$&'()*+,;=:@/%\[\]{}|^`"
_ORIGIN_FORM = re.compile(rf"^/[{_TARGET_CHARS}]*(?:\?[{_TARGET_CHARS}?]*)?$")


def decisions_view(method: str, scheme: str, raw_path: bytes, query: bytes, raw: Sequence[tuple[bytes, bytes]],
                   peer: str) -> RequestView:
    """The view described by a decisions call (nginx auth_request, Traefik forwardAuth, Envoy ext_authz);
    `raw_path` is the path after `/decisions`."""
    wanted: list[tuple[bytes, bytes]] = []
    kept: list[tuple[bytes, bytes]] = []
    forwarded_for = ""
    for k, v in raw:
        if k in _DECISION_HEADERS:
            wanted.append((k, v))
        if k.startswith(_FORWARDED_PREFIXES):
            if k == b"x-forwarded-for":
                forwarded_for = v.decode("latin-1")
        else:
            kept.append((k, v))
    method = single_header(wanted, b"x-forwarded-method") or method
    scheme = single_header(wanted, b"x-forwarded-proto") or scheme
    if scheme not in ("http", "https"):
        raise BadRequest("The request is ambiguous", reason="X-Forwarded-Proto must be http or https")
    host = check_host(single_header(wanted, b"x-forwarded-host") or single_header(wanted, b"host") or "")
    uri = single_header(wanted, b"x-forwarded-uri")
    if uri is not None:
        if not _ORIGIN_FORM.match(uri):
            raise InvalidRequestPath(reason="X-Forwarded-Uri is not a request-target RFC 9112 allows")
        target_path, _, target_query = uri.partition("?")
        path = clean_path(target_path.encode("latin-1"))
    else:
        path = clean_path(raw_path or b"/")
        target_query = query.decode("latin-1")
    client = forwarded_for.rsplit(",", 1)[-1].strip() or peer if forwarded_for else peer
    return RequestView(method.upper(), scheme, host, path, target_query, Headers(kept), client)
