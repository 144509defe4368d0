"""`redirect`: 302 (or 301) to `to`, optionally with the original URL in `return_to_query_param`."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from gatekeeper.access.errors.base import Condition, ErrorResponse, HandlerBase, WhenMixin
from gatekeeper.access.handlers import Deps
from gatekeeper.access.request_view import RequestView
from gatekeeper.errors import GatekeeperError


@dataclass(frozen=True)
class RedirectConfig(HandlerBase):
    to: str = ""
    code: int = 302
    return_to_query_param: str = ""


class Redirect(WhenMixin):
    def __init__(self, cfg: RedirectConfig, deps: Deps) -> None:
        self.cfg = cfg
        self.code = cfg.code if cfg.code in (301, 302) else 302
        self.conditions = tuple(Condition(w) for w in cfg.when)

    @staticmethod
    def problems(cfg: RedirectConfig) -> list[tuple[str, str]]:
        return [] if cfg.to else [("to", "is required")]

    def render(self, error: GatekeeperError, view: RequestView | None) -> ErrorResponse:
        location = self.cfg.to
        if self.cfg.return_to_query_param and view is not None:
            sep = "&" if "?" in location else "?"
            location = f"{location}{sep}{urlencode({self.cfg.return_to_query_param: view.full_url})}"
        return ErrorResponse(self.code, (("Location", location), ("Content-Type", "text/plain; charset=utf-8")),
                             b"")
