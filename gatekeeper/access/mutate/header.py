"""`header`: set upstream headers from templates compiled at load (`{{ print .Subject }}`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gatekeeper.access.handlers import AuthSession, Deps, canonical, header_value, template_problems
from gatekeeper.access.template import TemplateError, compile_template
from gatekeeper.errors import GatekeeperError


@dataclass(frozen=True)
class HeaderConfig:
    headers: Mapping[str, str]


class Header:
    def __init__(self, cfg: HeaderConfig, deps: Deps) -> None:
        self.templates = tuple((canonical(name), compile_template(str(v))) for name, v in cfg.headers.items())
        self.sets_headers = tuple(name for name, _ in self.templates)

    @staticmethod
    def problems(cfg: HeaderConfig) -> list[tuple[str, str]]:
        return template_problems(cfg.headers, "headers")

    async def mutate(self, session: AuthSession) -> None:
        data = session.template_data()
        for name, template in self.templates:
            try:
                session.header[name] = header_value(template.render(data))
            except TemplateError as exc:
                raise GatekeeperError(reason=f"header {name}: {exc}") from None
