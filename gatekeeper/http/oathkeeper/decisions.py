"""Oathkeeper's decisions API on `:4456`: `/decisions/<path>` plus `X-Forwarded-Method/Proto/Host/Uri`
describe the request; 200 with the mutated headers (never the client's own), or the error handler's answer.
Works behind nginx `auth_request`, Traefik `forwardAuth` and Envoy `ext_authz` (HTTP)."""

from __future__ import annotations

from starlette.types import Receive, Scope, Send

from gatekeeper.access.errors.json import render_json
from gatekeeper.access.pipeline import Pipeline, render_bad_request
from gatekeeper.access.repository import RuleRepository
from gatekeeper.access.request_view import decisions_view, in_networks, parse_networks
from gatekeeper.asgi import BodyBuffer, annotate, send_answer
from gatekeeper.errors import Forbidden, GatekeeperError

PREFIX = b"/decisions"


class Decisions:
    def __init__(self, repository: RuleRepository, pipeline: Pipeline, allowed_callers: tuple[str, ...] = ()) -> None:
        self.repository, self.pipeline = repository, pipeline
        self.allowed = parse_networks(allowed_callers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.allowed and not in_networks((scope.get("client") or ("", 0))[0], self.allowed):
            await send_answer(send, render_json(Forbidden(reason="this address may not ask for decisions"),
                                               verbose=True))
            return
        try:
            view = decisions_view(scope, len(PREFIX))
        except GatekeeperError as exc:
            await send_answer(send, render_bad_request(exc, self.repository.current))
            return
        view.body = BodyBuffer(receive)
        decision = await self.pipeline.run(view)
        annotate(scope, decision.route, decision.log)
        if decision.error is not None:
            await send_answer(send, decision.error)
            return
        assert decision.session is not None
        headers = [(k.encode("latin-1"), v.encode("utf-8")) for k, v in decision.session.header.items()
                   if k.lower() != "content-length"]
        headers.append((b"content-length", b"0"))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
