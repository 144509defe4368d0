"""The settings flow's public routes (Kratos' settings/handler.go): like the other flows', but every call needs
the session, and a saved flow answers 200 with the flow itself (`state: success`) instead of a session."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gatekeeper.http.common import endpoint, json_response, read_body, redirect, wants_json
from gatekeeper.http.kratos.public import PublicApi
from gatekeeper.identity.client import ClientInfo
from gatekeeper.identity.flows.base import FlowType, Outcome
from gatekeeper.identity.flows.settings import SettingsFlows


class SettingsApi:
    def __init__(self, public: PublicApi, handler: SettingsFlows) -> None:
        self.public, self.handler = public, handler

    async def init_browser(self, request: Request) -> Response:
        params = dict(request.query_params)
        outcome = await self.handler.init(FlowType.BROWSER, self.public.client(request), params,
                                          await self.public.current(request))
        assert outcome.flow is not None and outcome.csrf_cookie is not None
        resp = (json_response(outcome.flow.to_json()) if wants_json(request)
                else redirect(self.handler.flows.ui_redirect(outcome.flow.id)))
        self.public.set_csrf_cookie(resp, outcome.csrf_cookie)
        return resp

    async def init_api(self, request: Request) -> Response:
        outcome = await self.handler.init(FlowType.API, self.public.client(request), dict(request.query_params),
                                          await self.public.current(request))
        assert outcome.flow is not None
        return json_response(outcome.flow.to_json())

    async def get_flow(self, request: Request) -> Response:
        flow = await self.handler.fetch_for(request.query_params.get("id"), self.public.client(request),
                                            await self.public.current(request))
        return json_response(flow.to_json())

    async def submit(self, request: Request) -> Response:
        body = await read_body(request)
        client = self.public.client(request)
        outcome = await self.handler.submit(request.query_params.get("flow"), body, client,
                                            await self.public.current(request),
                                            csrf_header=request.headers.get("x-csrf-token"))
        return self.response(outcome, client)

    def response(self, outcome: Outcome, client: ClientInfo) -> Response:
        """Kratos' matrix for settings: 400 with the flow on errors; 200 with the flow (or 303) otherwise."""
        flow = outcome.flow
        assert flow is not None
        if outcome.restarted or outcome.status == 400:
            return self.public.submit_response(self.handler, outcome, client)
        html = flow.is_browser and not client.wants_json
        if html:
            target = outcome.return_to if outcome.result == "success" else None
            resp = redirect(target or self.handler.flows.ui_redirect(flow.id))
        else:
            body: dict[str, Any] = dict(flow.to_json())
            if flow.is_browser and outcome.return_to:
                body["continue_with"] = [{"action": "redirect_browser_to", "redirect_browser_to": outcome.return_to}]
            resp = json_response(body)
        if outcome.csrf_cookie:
            self.public.set_csrf_cookie(resp, outcome.csrf_cookie)
        return resp

    def routes(self) -> list[BaseRoute]:
        errors = self.public.browser_error
        return [
            Route("/self-service/settings/browser", endpoint("/self-service/settings/browser",
                                                             browser_errors=errors)(self.init_browser),
                  methods=["GET"]),
            Route("/self-service/settings/api", endpoint("/self-service/settings/api")(self.init_api),
                  methods=["GET"]),
            Route("/self-service/settings/flows", endpoint("/self-service/settings/flows")(self.get_flow),
                  methods=["GET"]),
            Route("/self-service/settings", endpoint("/self-service/settings", browser_errors=errors)(self.submit),
                  methods=["POST"]),
        ]
