"""`return_to` allow-list, by parsed URL: scheme, host (or `*.suffix`) and path prefix must all match."""

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
        host, port, path = parts.hostname.lower(), _port(parts), parts.path or "/"
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
