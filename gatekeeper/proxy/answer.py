"""Deciding on a request and sending an error handler's answer on the data plane."""

from __future__ import annotations

from gatekeeper.access.errors.base import ErrorResponse
from gatekeeper.access.errors.json import render_json
from gatekeeper.access.pipeline import Decision, Pipeline
from gatekeeper.access.request_view import RequestView
from gatekeeper.dataplane import Responder
from gatekeeper.errors import GatekeeperError
from gatekeeper.proxy.observed import Exchange


def answer(responder: Responder, response: ErrorResponse) -> None:
    """Send `response` whole."""
    responder.respond(response.status, [(k.lower().encode("latin-1"), v.encode("latin-1"))
                                        for k, v in response.headers], response.body)


def refuse(responder: Responder, error: GatekeeperError) -> None:
    """Answer `error` with the JSON error envelope, its reason included (upstream failures)."""
    answer(responder, render_json(error, verbose=True))


async def decide(pipeline: Pipeline, view: RequestView, responder: Responder, exchange: Exchange) -> Decision | None:
    """Run the access rules on `view` and note the decision for the access log; a denial is answered here (its
    error handler's answer) and gives None."""
    decision = await pipeline.run(view)
    exchange.fields = decision.log
    if decision.route is not None:
        exchange.route = decision.route
    if decision.error is not None:
        answer(responder, decision.error)
        return None
    return decision
