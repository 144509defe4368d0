"""Sending an error handler's answer on the data plane."""

from __future__ import annotations

from gatekeeper.access.errors.base import ErrorResponse
from gatekeeper.access.errors.json import render_json
from gatekeeper.dataplane import Responder
from gatekeeper.errors import GatekeeperError


def answer(responder: Responder, response: ErrorResponse) -> None:
    """Send `response` whole."""
    responder.respond(response.status, [(k.lower().encode("latin-1"), v.encode("latin-1"))
                                        for k, v in response.headers], response.body)


def refuse(responder: Responder, error: GatekeeperError) -> None:
    """Answer `error` with the JSON error envelope, its reason included (upstream failures)."""
    answer(responder, render_json(error, verbose=True))
