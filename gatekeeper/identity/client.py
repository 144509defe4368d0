"""What the identity services may know about an HTTP request (they never see a Starlette Request)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ClientInfo:
    """The caller: address, agent, cookies and the headers flows decide on."""

    ip: str = ""
    user_agent: str = ""
    url: str = ""
    cookies: Mapping[str, str] = field(default_factory=dict)
    origin: str | None = None
    session_token: str | None = None  # X-Session-Token or Authorization: Bearer
    wants_json: bool = False  # Kratos' "is JSON request" (Accept or Content-Type)

    @property
    def has_browser_traits(self) -> bool:
        """Cookies (other than Cloudflare's) or an Origin header: what API flows refuse."""
        if self.origin is not None:
            return True
        return any(not name.startswith(("__cf", "_cf", "cf_")) for name in self.cookies)
