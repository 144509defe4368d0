"""`bearer_token`: a session token (Authorization: Bearer, X-Session-Token or `token_from`), checked
against gatekeeper's own store or a remote whoami."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from gatekeeper.access.authn import session_check
from gatekeeper.access.authn.session_check import SessionCheck
from gatekeeper.access.authn.tokens import TokenFrom, find_token, token_source_problems
from gatekeeper.access.handlers import AuthSession, Deps, NotResponsible


@dataclass(frozen=True)
class BearerTokenConfig(SessionCheck):
    remote_subject_from: ClassVar[str] = "sub"  # Oathkeeper's default for bearer_token

    token_from: TokenFrom | None = None
    prefix: str = ""


class BearerToken:
    def __init__(self, cfg: BearerTokenConfig, deps: Deps) -> None:
        self.cfg, self.deps = cfg, deps
        self.fallback = () if cfg.token_from else ("x-session-token",)

    @staticmethod
    def problems(cfg: BearerTokenConfig) -> list[tuple[str, str]]:
        out = []
        if problem := session_check.url_problem(cfg.check_session_url):
            out.append(("check_session_url", problem))
        return out + token_source_problems(cfg.token_from)

    async def authenticate(self, session: AuthSession) -> None:
        token = find_token(session.view, self.cfg.token_from, fallback_headers=self.fallback)
        if not token or not token.startswith(self.cfg.prefix):
            raise NotResponsible
        forward = {}
        if authorization := session.view.headers.get("authorization"):
            forward["Authorization"] = authorization
        if not self.cfg.token_from and (session_token := session.view.headers.get("x-session-token")):
            forward["X-Session-Token"] = session_token
        await session_check.check(session, self.cfg, self.deps, token, forward)
