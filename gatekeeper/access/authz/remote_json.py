"""`remote_json`: POST a JSON payload rendered from a template (Keto-style checks) to an authorization service."""

from __future__ import annotations

import json
from dataclasses import dataclass

from gatekeeper.access.authz import remote_call
from gatekeeper.access.handlers import AuthSession, Deps
from gatekeeper.access.template import TemplateError, compile_template
from gatekeeper.errors import GatekeeperError


@dataclass(frozen=True)
class RemoteJsonConfig(remote_call.RemoteBase):
    payload: str = ""


class RemoteJson:
    sets_headers: tuple[str, ...]

    def __init__(self, cfg: RemoteJsonConfig, deps: Deps) -> None:
        self.cfg, self.deps = cfg, deps
        self.payload = compile_template(cfg.payload)
        self.headers = remote_call.compile_headers(cfg.headers)
        self.sets_headers = cfg.forward_response_headers_to_upstream

    @staticmethod
    def problems(cfg: RemoteJsonConfig) -> list[tuple[str, str]]:
        out = remote_call.problems(cfg)
        if not cfg.payload:
            out.append(("payload", "is required"))
        else:
            try:
                compile_template(cfg.payload)
            except TemplateError as exc:
                out.append(("payload", str(exc)))
        return out

    async def authorize(self, session: AuthSession) -> None:
        try:
            payload = self.payload.render(session.template_data())
            json.loads(payload)
        except (TemplateError, ValueError) as exc:
            raise GatekeeperError(reason=f"the remote_json payload is not valid JSON: {exc}") from None
        await remote_call.call(session, self.cfg, self.deps, self.headers, payload.encode(), "application/json")
