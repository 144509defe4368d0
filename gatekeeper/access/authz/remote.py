"""`remote`: POST the original request body (and Content-Type, Authorization) to an authorization service."""

from __future__ import annotations

from dataclasses import dataclass

from gatekeeper.access.authz import remote_call
from gatekeeper.access.handlers import AuthSession, Deps


@dataclass(frozen=True)
class RemoteConfig(remote_call.RemoteBase):
    pass


class Remote:
    sets_headers: tuple[str, ...]

    def __init__(self, cfg: RemoteConfig, deps: Deps) -> None:
        self.cfg, self.deps = cfg, deps
        self.headers = remote_call.compile_headers({"Authorization": "{{ .MatchContext.Header.Get \"Authorization\" }}",
                                                    **cfg.headers})
        self.sets_headers = cfg.forward_response_headers_to_upstream

    problems = staticmethod(remote_call.problems)

    async def authorize(self, session: AuthSession) -> None:
        view = session.view
        body = await view.body() if view.body is not None else b""
        await remote_call.call(session, self.cfg, self.deps, self.headers, body, view.headers.get("content-type"))
