"""Kratos' session token exchange, for social sign-in from a native app.

The app creates an API login or registration flow with `return_session_token_exchange_code=true` and gets
`session_token_exchange_code` (the init code) once, in that answer. It submits a provider to the flow, opens the
422's `redirect_browser_to` in a browser, and the sign-in ends on the flow's `return_to` with `?code=<return to
code>` instead of a cookie. `GET /sessions/token-exchange?init_code=..&return_to_code=..` then answers the
session token and session, once: both codes are needed (the init code never leaves the app, the other only
reaches its return_to). The flow keeps the init code's digest, the return-to code and, once signed in, the
session token sealed (secrets.cipher, else secrets.cookie); the init code names its flow before a dot. Codes
of an expired flow are worth nothing."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from gatekeeper.identity.flows.base import EXCHANGE_CODE, Flow, FlowKind
from gatekeeper.identity.oidc.continuity import Sealer

if TYPE_CHECKING:
    from gatekeeper.identity.context import IdentityContext

FIELD = EXCHANGE_CODE  # in the flow's JSON only when it is created
KINDS = (FlowKind.LOGIN, FlowKind.REGISTRATION)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def start(flow: Flow) -> str:
    """Make `flow` an exchanging one; returns the init code the app keeps."""
    init = secrets.token_urlsafe(32)
    flow.internal["exchange"] = {"init": _digest(init), "code": secrets.token_urlsafe(32)}
    return f"{flow.id}.{init}"


def exchanging(flow: Flow) -> bool:
    return bool(flow.internal.get("exchange"))


def complete(ctx: IdentityContext, flow: Flow, token: str, return_to: str) -> str:
    """Remember the signed-in session's token on `flow`; the URL the browser goes to (`return_to?code=..`)."""
    exchange = flow.internal["exchange"]
    exchange["token"] = Sealer(ctx.config, b"session token exchange").seal({"v": token})
    return f"{return_to}{'&' if '?' in return_to else '?'}{urlencode({'code': exchange['code']})}"


async def redeem(ctx: IdentityContext, init_code: str, return_to_code: str) -> str | None:
    """The session token for the two codes, once; None when they match no signed-in exchange."""
    flow_id, _, init = init_code.partition(".")
    if not flow_id or not init or len(flow_id) > 64:
        return None
    for kind in KINDS:
        record = await ctx.store.flow(str(kind), flow_id)
        exchange: dict[str, Any] = (record.internal.get("exchange") or {}) if record is not None else {}
        if record is None or not exchange.get("token"):
            continue
        if record.expires_at <= datetime.now(UTC):
            return None
        if not (hmac.compare_digest(exchange["init"], _digest(init))
                and hmac.compare_digest(str(exchange["code"]), return_to_code)):
            return None
        sealed = Sealer(ctx.config, b"session token exchange").open(exchange.pop("token"))
        await ctx.store.update_flow(record)  # used once
        return str(sealed["v"]) if sealed else None
    return None
