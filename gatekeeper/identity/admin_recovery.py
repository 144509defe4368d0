"""Admin-issued recovery (Kratos' createRecoveryCodeForIdentity / createRecoveryLinkForIdentity).

A recovery flow is created for the identity in the `sent_email` state with a challenge whose secret the
operator hands over (nothing is e-mailed). As in Kratos (`DangerousSkipCSRFCheck`), the flow is not bound
to a browser's CSRF cookie: the person opening the link has none yet.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from gatekeeper.config.types import Duration
from gatekeeper.errors import BadRequest, NotFound
from gatekeeper.identity.client import ClientInfo
from gatekeeper.identity.flows.base import FlowType
from gatekeeper.identity.identities import rfc3339
from gatekeeper.identity.strategies.code import CodeStrategy
from gatekeeper.identity.strategies.link import LinkStrategy

if TYPE_CHECKING:
    from gatekeeper.identity.flows.recovery import RecoveryFlows
    from gatekeeper.store.identities import IdentityRecord

SKIP_CSRF = "skip_csrf"


def parse_expires_in(value: Any, default: float) -> float:
    if value is None or value == "":
        return default
    if not isinstance(value, str):
        raise BadRequest(reason='expires_in must be a duration string such as "1h" or "15m".')
    try:
        seconds = float(Duration.parse(value))
    except ValueError:
        raise BadRequest(reason=f"expires_in {value!r} is not a duration such as 1h or 15m.") from None
    if seconds <= 0:
        raise BadRequest(reason="expires_in must be positive.")
    return seconds


class AdminRecovery:
    def __init__(self, flows: RecoveryFlows | None) -> None:
        self.flows = flows

    def _method(self, cls: Any, name: str) -> Any:
        """The recovery method in use (selfservice.flows.recovery.use), which must be `name`."""
        if self.flows is None or not self.flows.cfg.enabled:
            raise NotFound(reason="Account recovery is not enabled on this server (selfservice.flows.recovery).")
        method = self.flows.method
        if not isinstance(method, cls):
            raise BadRequest(reason=f"Recovery by {name} is not in use here: selfservice.flows.recovery.use is "
                                    f"{self.flows.cfg.use!r} and selfservice.methods.{name}.enabled must be true.")
        return method

    async def _flow(self, method: Any, ident: IdentityRecord, flow_type: FlowType, expires_in: float,
                    return_to: str | None) -> tuple[Any, str, str | None]:
        assert self.flows is not None
        ctx = self.flows.ctx
        client = ClientInfo(url=f"{ctx.public_base_url}/self-service/recovery/{flow_type}")
        flow, _ = await self.flows.create(flow_type, client, {"return_to": return_to} if return_to else {}, None)
        address = next((a.value for a in ident.addresses if a.kind == "recovery"), "")
        secret = method.new_secret()
        expires = min(datetime.now(UTC) + timedelta(seconds=expires_in), flow.record.expires_at)  # flow lifespan
        flow.internal["challenge"] = {"digest": method.digest(flow, secret), "address": address,
                                      "identity_id": ident.id, "address_id": "", "expires_at": expires.timestamp(),
                                      "used": False}
        flow.internal[SKIP_CSRF] = True
        flow.body["state"] = "sent_email"
        flow.body["active"] = method.id
        method.populate_sent(flow, address)
        await self.flows.flows.save(flow)
        return flow, secret, rfc3339(expires)

    async def code(self, ident: IdentityRecord, body: dict[str, Any]) -> dict[str, Any]:
        method = self._method(CodeStrategy, "code")
        flow_type = body.get("flow_type") or "browser"
        if flow_type not in ("browser", "api"):
            raise BadRequest(reason='flow_type must be "browser" or "api".')
        expires_in = parse_expires_in(body.get("expires_in"), method.lifespan)
        flow, code, expires_at = await self._flow(method, ident, FlowType(flow_type), expires_in, None)
        assert self.flows is not None
        return {"recovery_link": f"{self.flows.ctx.ui_url('recovery')}?flow={flow.id}", "recovery_code": code,
                "expires_at": expires_at}

    async def link(self, ident: IdentityRecord, body: dict[str, Any], return_to: str | None) -> dict[str, Any]:
        method = self._method(LinkStrategy, "link")
        expires_in = parse_expires_in(body.get("expires_in"), method.lifespan)
        flow, token, expires_at = await self._flow(method, ident, FlowType.BROWSER, expires_in, return_to)
        return {"recovery_link": method.link(flow, token), "expires_at": expires_at}

    async def send(self, ident: IdentityRecord) -> str:
        """E-mail a recovery code (or link) to the identity's recovery address, as if they had asked; the address."""
        method = self._method((CodeStrategy, LinkStrategy), "code or link")
        address = next((a for a in ident.addresses if a.kind == "recovery"), None)
        if address is None:
            raise BadRequest(reason="This identity has no recovery address.")
        assert self.flows is not None
        ctx = self.flows.ctx
        client = ClientInfo(url=f"{ctx.public_base_url}/self-service/recovery/browser")
        flow, _ = await self.flows.create(FlowType.BROWSER, client, {}, None)
        flow.internal[SKIP_CSRF] = True
        await method.send(flow, address.value, ident, address_id=address.id)
        flow.body["state"] = "sent_email"
        flow.body["active"] = method.id
        method.populate_sent(flow, address.value)
        await self.flows.flows.save(flow)
        return address.value
