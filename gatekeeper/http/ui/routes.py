"""Routes of the built-in UI pages; they call the flow services exactly as a separate UI would."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gatekeeper.asgi import ROUTE_KEY
from gatekeeper.errors import GatekeeperError
from gatekeeper.http.common import client_info, redirect, session_credential, with_query
from gatekeeper.http.ui import SECURITY_HEADERS, render, render_error, stylesheet, webauthn_bridge
from gatekeeper.identity.context import IdentityContext
from gatekeeper.identity.flows.base import FlowType
from gatekeeper.identity.flows.bundle import FlowHandlers

_PASSTHROUGH = ("return_to", "refresh", "aal", "identity_schema")
_TITLES = {"login": "Sign in", "registration": "Create your account", "verification": "Verify your account",
           "recovery": "Recover your account"}


class WebUi:
    def __init__(self, ctx: IdentityContext, flows: FlowHandlers) -> None:
        self.ctx, self.flows = ctx, flows
        self._css, self._bridge = stylesheet(), webauthn_bridge()

    def flow_page(self, kind: str) -> Any:
        handler = self.flows.by_kind(kind)
        assert handler is not None

        async def page(request: Request) -> Response:
            request.scope[ROUTE_KEY] = f"/ui/{kind}"
            flow_id = request.query_params.get("flow")
            params = {k: request.query_params[k] for k in _PASSTHROUGH if k in request.query_params}
            init = with_query(handler.flows.init_url(FlowType.BROWSER), **params)
            if not flow_id:
                return redirect(init)
            try:
                flow = await handler.fetch(flow_id, client_info(request, self.ctx.public_base_url))
            except GatekeeperError:
                return redirect(init)  # unknown, expired or foreign flow: start a fresh one
            body = flow.to_json()
            other = "registration" if kind == "login" else "login"
            switch = with_query(f"{self.ctx.public_base_url}/self-service/{other}/browser",
                                return_to=body.get("return_to"))
            recovery = f"{self.ctx.public_base_url}/self-service/recovery/browser" \
                if kind == "login" and self.ctx.config.selfservice.flows.recovery.enabled \
                else ""
            return render(self.ctx, "flow.html", kind=kind, title=_TITLES[kind], flow=body,
                          ui=body["ui"], switch_url=switch, focus=_focus(body["ui"]["nodes"]), recovery_url=recovery)
        return page

    async def error(self, request: Request) -> Response:
        request.scope[ROUTE_KEY] = "/ui/error"
        error_id = request.query_params.get("id", "")
        found = await self.ctx.store.flow_error(error_id) if 0 < len(error_id) <= 64 else None
        error = found[0] if found else {"code": 404, "status": "Not Found",
                                        "message": "This error page has expired or does not exist."}
        return render_error(self.ctx, error, status=200)

    async def welcome(self, request: Request) -> Response:
        request.scope[ROUTE_KEY] = "/ui/welcome"
        current = await self.ctx.sessions.current(
            session_credential(request, self.ctx.config.session.cookie.name))
        identity = self.ctx.identities.to_json(current[1]) if current else None
        return render(self.ctx, "welcome.html", identity=identity,
                      logout_url=f"{self.ctx.public_base_url}/self-service/logout/browser",
                      login_url=f"{self.ctx.public_base_url}/self-service/login/browser",
                      registration_url=f"{self.ctx.public_base_url}/self-service/registration/browser")

    async def css(self, request: Request) -> Response:
        request.scope[ROUTE_KEY] = "/ui/static/style.css"
        headers = {**SECURITY_HEADERS, "Cache-Control": "public, max-age=3600"}
        return Response(self._css, media_type="text/css", headers=headers)

    async def bridge(self, request: Request) -> Response:
        request.scope[ROUTE_KEY] = "/ui/static/webauthn-ui.js"
        headers = {**SECURITY_HEADERS, "Cache-Control": "public, max-age=3600"}
        return Response(self._bridge, media_type="text/javascript", headers=headers)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/ui/login", self.flow_page("login"), methods=["GET"]),
            Route("/ui/registration", self.flow_page("registration"), methods=["GET"]),
            Route("/ui/verification", self.flow_page("verification"), methods=["GET"]),
            Route("/ui/recovery", self.flow_page("recovery"), methods=["GET"]),
            Route("/ui/error", self.error, methods=["GET"]),
            Route("/ui/welcome", self.welcome, methods=["GET"]),
            Route("/ui/static/style.css", self.css, methods=["GET"]),
            Route("/ui/static/webauthn-ui.js", self.bridge, methods=["GET"]),
        ]


def _focus(nodes: list[dict[str, Any]]) -> str:
    """The field to focus: the first one with an error, else the first visible field."""
    fields = [n for n in nodes if n["type"] == "input" and n["attributes"]["type"] not in ("hidden", "submit")]
    for node in fields:
        if any(m.get("type") == "error" for m in node["messages"]):
            return str(node["attributes"]["name"])
    return str(fields[0]["attributes"]["name"]) if fields else ""
