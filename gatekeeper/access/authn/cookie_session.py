"""`cookie_session`: the session cookie, checked against gatekeeper's own store or a remote whoami."""

from __future__ import annotations

from dataclasses import dataclass

from gatekeeper.access.authn import session_check
from gatekeeper.access.authn.session_check import SessionCheck
from gatekeeper.access.handlers import AuthSession, Deps, NotResponsible

DEFAULT_COOKIE = "ory_kratos_session"


@dataclass(frozen=True)
class CookieSessionConfig(SessionCheck):
    only: tuple[str, ...] = ()


class CookieSession:
    def __init__(self, cfg: CookieSessionConfig, deps: Deps) -> None:
        self.cfg, self.deps = cfg, deps
        self.names = cfg.only or (DEFAULT_COOKIE,)
        self.remote = bool(cfg.check_session_url)

    @staticmethod
    def problems(cfg: CookieSessionConfig) -> list[tuple[str, str]]:
        problem = session_check.url_problem(cfg.check_session_url)
        return [("check_session_url", problem)] if problem else []

    async def authenticate(self, session: AuthSession) -> None:
        view = session.view
        cookies = view.cookies
        if self.remote:
            if not (any(n in cookies for n in self.cfg.only) if self.cfg.only else cookies):
                raise NotResponsible
            await session_check.check(session, self.cfg, self.deps, "", {"Cookie": view.headers.get("cookie")})
            return
        token = next((cookies[n] for n in self.names if cookies.get(n)), "")
        if not token:
            raise NotResponsible
        await session_check.check(session, self.cfg, self.deps, token, {})
