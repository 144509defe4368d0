"""`www_authenticate`: always 401 with `WWW-Authenticate: Basic realm=<realm>` (browsers prompt)."""

from __future__ import annotations

from dataclasses import dataclass

from gatekeeper.access.errors.base import Condition, ErrorResponse, HandlerBase, WhenMixin
from gatekeeper.access.handlers import Deps
from gatekeeper.access.request_view import RequestView
from gatekeeper.errors import GatekeeperError


@dataclass(frozen=True)
class WwwAuthenticateConfig(HandlerBase):
    realm: str = "Please authenticate."


class WwwAuthenticate(WhenMixin):
    def __init__(self, cfg: WwwAuthenticateConfig, deps: Deps) -> None:
        self.realm = cfg.realm
        self.conditions = tuple(Condition(w) for w in cfg.when)

    def render(self, error: GatekeeperError, view: RequestView | None) -> ErrorResponse:
        return ErrorResponse(401, (("WWW-Authenticate", f"Basic realm={self.realm}"),
                                   ("Content-Type", "text/plain; charset=utf-8")), b"Unauthorized")
