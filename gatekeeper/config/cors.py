"""CORS settings of a listener (`serve.<listener>.cors`, Kratos' and Oathkeeper's keys) and what they allow.

`CorsPolicy` is framework-free, so the public API (Starlette) and the proxy (the data-plane server) apply the same
rules. The defaults are Kratos'; the proxy and api listeners start from Oathkeeper's (`oathkeeper_cors`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HeaderList = list[tuple[bytes, bytes]]


@dataclass(frozen=True)
class CorsConfig:
    enabled: bool = False
    allowed_origins: tuple[str, ...] = ("*",)
    allowed_methods: tuple[str, ...] = ("POST", "GET", "PUT", "PATCH", "DELETE")
    allowed_headers: tuple[str, ...] = ("Authorization", "Content-Type", "Max-Age", "X-Session-Token",
                                        "X-XSRF-TOKEN", "X-CSRF-TOKEN")
    exposed_headers: tuple[str, ...] = ("Content-Type",)
    allow_credentials: bool = True
    max_age: int = 0
    debug: bool = False
    options_passthrough: bool = False


def oathkeeper_cors() -> CorsConfig:
    """Oathkeeper's defaults for `serve.proxy.cors` and `serve.api.cors`."""
    return CorsConfig(allowed_methods=("GET", "POST", "PUT", "PATCH", "DELETE"),
                      allowed_headers=("Authorization", "Content-Type"), allow_credentials=False)


class CorsPolicy:
    """Decides which cross-origin requests a listener answers, and with which headers."""

    def __init__(self, cfg: CorsConfig) -> None:
        self.cfg = cfg
        self.any_origin = "*" in cfg.allowed_origins
        self._exact = {o.lower() for o in cfg.allowed_origins if "*" not in o}
        self._patterns = [re.compile("^" + re.escape(o.lower()).replace(r"\*", "[^./]+(?:\\.[^./]+)*") + "$")
                          for o in cfg.allowed_origins if "*" in o and o != "*"]
        self._methods = {m.upper() for m in cfg.allowed_methods}
        self._allowed_headers = {h.lower() for h in cfg.allowed_headers}
        self._any_header = "*" in self._allowed_headers
        self._preflight = [(b"access-control-allow-methods", ", ".join(m.upper() for m in cfg.allowed_methods)
                            .encode()), (b"access-control-allow-headers", ", ".join(cfg.allowed_headers).encode())]
        if cfg.max_age:
            self._preflight.append((b"access-control-max-age", str(cfg.max_age).encode()))
        exposed = ", ".join(cfg.exposed_headers).encode()
        self._exposed = [(b"access-control-expose-headers", exposed)] if exposed else []

    def allows(self, origin: str) -> bool:
        lowered = origin.lower()
        return self.any_origin or lowered in self._exact or any(p.match(lowered) for p in self._patterns)

    def origin_headers(self, origin: str) -> HeaderList:
        """Allow-Origin (the origin itself with credentials or a list, else `*`), Vary, Allow-Credentials."""
        echo = origin if (self.cfg.allow_credentials or not self.any_origin) else "*"
        headers = [(b"access-control-allow-origin", echo.encode("latin-1")), (b"vary", b"Origin")]
        if self.cfg.allow_credentials:
            headers.append((b"access-control-allow-credentials", b"true"))
        return headers

    def actual_headers(self, origin: str) -> HeaderList:
        """Headers for the response to an allowed cross-origin request (not a preflight)."""
        return [*self.origin_headers(origin), *self._exposed]

    def preflight_headers(self, origin: str, method: str, requested_headers: str) -> HeaderList:
        """Headers answering a preflight; none when the origin, method or a requested header is not allowed (the
        browser then refuses the real request)."""
        wanted = [h.strip().lower() for h in requested_headers.split(",") if h.strip()]
        if not self.allows(origin) or method.upper() not in self._methods or \
                not self._any_header and any(h not in self._allowed_headers for h in wanted):
            return []
        return [*self.origin_headers(origin), *self._preflight]
