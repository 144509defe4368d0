"""`cookie`: one `Cookie` header with templated cookies plus the client's cookies not overridden."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gatekeeper.access.handlers import AuthSession, Deps, header_value, template_problems
from gatekeeper.access.template import TemplateError, compile_template
from gatekeeper.errors import GatekeeperError


@dataclass(frozen=True)
class CookieConfig:
    cookies: Mapping[str, str]


class Cookie:
    sets_headers = ("Cookie",)

    def __init__(self, cfg: CookieConfig, deps: Deps) -> None:
        self.templates = tuple((name, compile_template(str(v))) for name, v in cfg.cookies.items())

    @staticmethod
    def problems(cfg: CookieConfig) -> list[tuple[str, str]]:
        return template_problems(cfg.cookies, "cookies")

    async def mutate(self, session: AuthSession) -> None:
        data = session.template_data()
        ours = {}
        for name, template in self.templates:
            try:
                ours[name] = header_value(template.render(data)).replace(";", "")
            except TemplateError as exc:
                raise GatekeeperError(reason=f"cookie {name}: {exc}") from None
        kept = [f"{k}={v}" for k, v in session.view.cookies.items() if k not in ours]
        session.header["Cookie"] = "; ".join([*kept, *(f"{k}={v}" for k, v in ours.items())])
