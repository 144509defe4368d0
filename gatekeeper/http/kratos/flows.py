"""Verification and recovery over HTTP: Kratos' response matrix for their submissions, and the route that opens
the link in their e-mails (`GET /self-service/<flow>?flow=&code=` or `&token=`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gatekeeper.http.common import endpoint, json_response, redirect
from gatekeeper.identity import csrf
from gatekeeper.identity.client import ClientInfo
from gatekeeper.identity.flows.base import Flow, Outcome
from gatekeeper.identity.flows.verification import AddressFlows

if TYPE_CHECKING:
    from gatekeeper.http.kratos.public import PublicApi


def address_response(api: PublicApi, handler: AddressFlows, outcome: Outcome, client: ClientInfo) -> Response:
    """Validation errors 400 (HTML: back to the UI); a sent code or a verified address 200 with the flow; a
    recovered account: signed in, on to the settings UI (HTML) or the flow with its continue_with (JSON)."""
    flow = outcome.flow
    assert flow is not None
    html = flow.is_browser and not client.wants_json
    if outcome.session is not None and outcome.token is not None:
        resp = redirect(outcome.return_to or api.ctx.ui_url("settings")) if html else json_response(flow.to_json())
        if flow.is_browser:
            api.set_csrf_cookie(resp, outcome.csrf_cookie or csrf.new_token())
            api.set_session_cookie(resp, outcome.token, outcome.session.expires_at)
        return resp
    status = 400 if outcome.restarted or outcome.status == 400 else 200
    resp = redirect(handler.flows.ui_redirect(flow.id)) if html else json_response(flow.to_json(), status=status)
    if outcome.csrf_cookie:
        api.set_csrf_cookie(resp, outcome.csrf_cookie)
    return resp


def _link_success(api: PublicApi, handler: AddressFlows, flow: Flow, outcome: Outcome) -> Response:
    if outcome.session is None or outcome.token is None:  # an address verified: the flow shows it
        return redirect(handler.flows.ui_redirect(flow.id))
    resp = redirect(outcome.return_to or api.ctx.ui_url("settings"))  # recovered: signed in, on to settings
    api.set_session_cookie(resp, outcome.token, outcome.session.expires_at)
    return resp


def link_route(api: PublicApi, handler: AddressFlows) -> Route:
    """`GET /self-service/<flow>?flow=&code=` (or `&token=`): what the e-mail's link opens."""
    path = f"/self-service/{handler.kind}"

    @endpoint(path, browser_errors=api.browser_error)
    async def follow_link(request: Request) -> Response:
        link = await handler.follow_link(request.query_params.get("flow"), request.query_params.get("code"),
                                         request.query_params.get("token"), api.client(request))
        if link.outcome is not None:
            resp = _link_success(api, handler, link.flow, link.outcome)
        else:
            resp = redirect(handler.flows.ui_redirect(link.flow.id))
        cookie = link.outcome.csrf_cookie or link.csrf_cookie if link.outcome else link.csrf_cookie
        api.set_csrf_cookie(resp, cookie)
        return resp

    return Route(path, follow_link, methods=["GET"])
