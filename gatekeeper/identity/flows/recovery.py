"""The recovery flow: a code (or link) sent to a recovery address signs the user in and opens settings.

No enumeration: an unknown address gets the same answer as a known one. On success a privileged session
(AMR `code_recovery` / `link_recovery`) is issued, the `revoke_active_sessions` and web hooks run, and the
flow ends with `continue_with` (Kratos' transitions: `set_ory_session_token` for API flows, then
`show_settings_ui`); a browser is redirected to the settings UI. Without a settings flow handler (recovery
flows the admin API creates), the settings UI URL is used without a flow (`redirect_browser_to`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from gatekeeper.identity import text
from gatekeeper.identity.client import ClientInfo
from gatekeeper.identity.errors import SessionAlreadyAvailable
from gatekeeper.identity.flows.base import Flow, FlowKind, FlowType, Outcome
from gatekeeper.identity.flows.handler import Current
from gatekeeper.identity.flows.settings import SettingsFlows
from gatekeeper.identity.flows.verification import AddressFlows
from gatekeeper.identity.hooks import WebHooks
from gatekeeper.identity.identities import rfc3339
from gatekeeper.identity.strategies.code import Challenge
from gatekeeper.store.identities import IdentityRecord
from gatekeeper.store.sessions import SessionRecord

if TYPE_CHECKING:
    from gatekeeper.identity.context import IdentityContext
    from gatekeeper.identity.courier import Courier


class RecoveryFlows(AddressFlows):
    kind = FlowKind.RECOVERY
    address_kind = "recovery"

    def __init__(self, ctx: IdentityContext, courier: Courier, web_hooks: WebHooks | None = None,
                 settings: SettingsFlows | None = None) -> None:
        """`settings`: where a recovered user continues (None: the settings UI, without a flow)."""
        super().__init__(ctx, courier, web_hooks)
        self.settings = settings

    def check_init(self, current: Current, params: dict[str, Any]) -> None:
        super().check_init(current, params)
        if current is not None:
            raise SessionAlreadyAvailable()

    async def passed(self, flow: Flow, challenge: Challenge, client: ClientInfo) -> Outcome | None:
        ident = await self.identity_of(flow, challenge)
        verifiable = next((a for a in ident.addresses if a.kind == "verifiable"
                           and a.value == challenge.get("address") and not a.verified), None)
        if verifiable is not None:  # the code reached this address: it is verified too (as Kratos)
            await self.address_verified(ident.id, verifiable.id)
        method = f"{self.method.id if self.method else 'code'}_recovery"
        session, token = await self.ctx.sessions.issue(ident, method, client)
        hook_method = self.method.id if self.method else "code"
        if self.web_hooks is not None:
            if self.web_hooks.has("recovery", hook_method, "revoke_active_sessions"):
                await self.ctx.sessions.revoke_others(ident.id, session.id)
            await self.web_hooks.web_hooks("recovery", hook_method, flow, ident, client, session)
        continue_with: list[dict[str, Any]] = []
        if flow.type == FlowType.API:
            continue_with.append({"action": "set_ory_session_token", "ory_session_token": token})
        target, settings_csrf = await self._settings(flow, client, session, ident)
        continue_with.append(target)
        flow.body["continue_with"] = continue_with
        flow.body["active"] = hook_method
        flow.ui["nodes"] = [n for n in flow.nodes if n["attributes"].get("name") == "csrf_token"]
        url = target.get("redirect_browser_to") or target["flow"].get("url") or self.ctx.ui_url("settings")
        # the browser keeps the CSRF token the settings flow was bound to
        return Outcome(flow=flow, session=session, token=token, identity=ident, return_to=url,
                       csrf_cookie=settings_csrf)

    async def _settings(self, flow: Flow, client: ClientInfo, session: SessionRecord,
                        ident: IdentityRecord) -> tuple[dict[str, Any], str | None]:
        """A settings flow for the recovered identity (message 1060001), as a continue_with item."""
        max_age = float(self.ctx.config.selfservice.flows.settings.privileged_session_max_age)
        until = datetime.now(UTC) + timedelta(seconds=max_age)
        message = text.recovery_successful(rfc3339(until) or "", int(until.timestamp()), int(max_age // 60))
        settings = self.settings
        if settings is None:
            return {"action": "redirect_browser_to", "redirect_browser_to": self.ctx.ui_url("settings")}, None
        # Kratos' NewFlow: no AAL gate here. A recovered aal1 session of an identity with a second factor is
        # asked for it when the settings flow is fetched, and comes back to this flow afterwards.
        sflow, token = await settings.create(flow.type, client, {}, (session, ident))
        sflow.add_message(message)
        await settings.flows.save(sflow)
        item: dict[str, Any] = {"id": sflow.id}
        if sflow.is_browser:
            item["url"] = settings.flows.ui_redirect(sflow.id)
        return {"action": "show_settings_ui", "flow": item}, token if sflow.is_browser else None
