"""The built-in settings page (`<base>/ui/settings?flow=`): one form per method (profile, password, TOTP with
its QR code and secret, backup codes), each posting to the flow's action as a separate UI would."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gatekeeper.asgi import ROUTE_KEY
from gatekeeper.errors import GatekeeperError
from gatekeeper.http.common import client_info, redirect, session_credential, with_query
from gatekeeper.http.ui import render
from gatekeeper.identity.context import IdentityContext
from gatekeeper.identity.flows.base import FlowType
from gatekeeper.identity.flows.settings import SettingsFlows

SECTIONS = (("profile", "Profile"), ("password", "Password"), ("oidc", "Sign-in providers"),
            ("totp", "Authenticator app"), ("lookup_secret", "Backup recovery codes"), ("passkey", "Passkeys"),
            ("webauthn", "Security keys"))


class SettingsPage:
    def __init__(self, ctx: IdentityContext, handler: SettingsFlows) -> None:
        self.ctx, self.handler = ctx, handler

    async def page(self, request: Request) -> Response:
        request.scope[ROUTE_KEY] = "/ui/settings"
        init = with_query(self.handler.flows.init_url(FlowType.BROWSER),
                          return_to=request.query_params.get("return_to"))
        flow_id = request.query_params.get("flow")
        if not flow_id:
            return redirect(init)
        current = await self.ctx.sessions.current(session_credential(request, self.ctx.config.session.cookie.name))
        try:
            flow = await self.handler.fetch_for(flow_id, client_info(request, self.ctx.public_base_url), current)
        except GatekeeperError as exc:
            # no session, a second factor or a fresh login needed: go there; a stale flow: start a fresh one
            return redirect(exc.browser_redirect or init)
        body = flow.to_json()
        return render(self.ctx, "settings.html", flow=body, ui=body["ui"], sections=SECTIONS,
                      welcome_url=self.ctx.default_return_url)

    def routes(self) -> list[BaseRoute]:
        return [Route("/ui/settings", self.page, methods=["GET"])]
