"""`return_to` allow-list, by parsed URL: scheme, host (or `*.suffix`) and path prefix must all match (the path
as a browser resolves it: dot segments removed)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import SplitResult, urljoin, urlsplit

from gatekeeper.identity.errors import ReturnToForbidden


@dataclass(frozen=True)
class _Allowed:
    scheme: str
    host: str
    port: int | None
    path: str


_DOT = (".", "%2e")
_DOT_DOT = ("..", ".%2e", "%2e.", "%2e%2e")


def _resolved(path: str) -> str:
    """The path a browser goes to: `.` and `..` segments (percent-encoded too, as browsers read them) removed
    (RFC 3986 5.2.4), so that `/allowed/../admin` is checked as `/admin`."""
    out: list[str] = []
    segments = path.split("/")[1:]
    for i, segment in enumerate(segments):
        dots = segment.lower()
        if dots in _DOT_DOT and out:
            out.pop()
        if dots in _DOT or dots in _DOT_DOT:
            if i == len(segments) - 1:
                out.append("")  # `/a/b/..` is `/a/`: the directory, with its slash
            continue
        out.append(segment)
    return "/" + "/".join(out)


def _port(parts: SplitResult) -> int | None:
    try:
        return parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    except ValueError:
        return -1


class ReturnToPolicy:
    """Compiled once from `selfservice.allowed_return_urls` plus the default return and public URLs."""

    def __init__(self, allowed: list[str], default_url: str) -> None:
        self.default_url = default_url
        self._allowed = []
        for url in allowed:
            parts = urlsplit(url)
            if parts.scheme and parts.hostname:
                self._allowed.append(_Allowed(parts.scheme.lower(), parts.hostname.lower(), _port(parts),
                                              parts.path or "/"))

    def check(self, raw: str | None) -> str | None:
        """The absolute URL to return to, None when not given; raises ReturnToForbidden otherwise."""
        if raw is None or raw == "":
            return None
        if any(ord(c) < 0x21 or ord(c) == 0x7F for c in raw) or "\\" in raw or raw.startswith("//"):
            raise ReturnToForbidden()
        parts = urlsplit(raw)
        if not parts.scheme and not parts.netloc:
            if not raw.startswith("/"):
                raise ReturnToForbidden()
            raw = urljoin(self.default_url, raw)
            parts = urlsplit(raw)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ReturnToForbidden()
        if parts.username is not None or parts.password is not None or "@" in parts.netloc:
            raise ReturnToForbidden()
        host, port, path = parts.hostname.lower(), _port(parts), _resolved(parts.path or "/")
        for a in self._allowed:
            if a.scheme != parts.scheme.lower() or a.port != port:
                continue
            if a.host.startswith("*"):
                if not host.endswith(a.host[1:]):
                    continue
            elif a.host != host:
                continue
            if path.startswith(a.path) or path + "/" == a.path:
                return raw
        raise ReturnToForbidden()
