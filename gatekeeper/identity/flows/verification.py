"""The verification flow (and AddressFlows, what it shares with recovery): prove control of an address.

One strategy answers, the one named by `selfservice.flows.<flow>.use` (`code`, the default, or `link`).
States: `choose_method` -> `sent_email` -> `passed_challenge`. A correct code marks the verifiable address
verified (`verified`, `verified_at`, `status: completed`) and turns the UI into a "continue" link.
`VerificationFlows` is also the `VerificationSender` other flows use (registration's `verification` hook, the
login hook `require_verified_address`, profile settings).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gatekeeper.errors import BadRequest, GatekeeperError
from gatekeeper.identity import csrf, text
from gatekeeper.identity.client import ClientInfo
from gatekeeper.identity.flows.base import Flow, FlowKind, FlowType, Outcome, ValidationFailed
from gatekeeper.identity.flows.handler import Current, FlowHandler
from gatekeeper.identity.hooks import WebHooks
from gatekeeper.identity.phones import channel_of
from gatekeeper.identity.schemas import normalise_identifier
from gatekeeper.identity.strategies.code import AddressMethod, Challenge, CodeStrategy
from gatekeeper.identity.strategies.link import LinkStrategy
from gatekeeper.identity.ui import Group, csrf_node, find

if TYPE_CHECKING:
    from gatekeeper.identity.context import IdentityContext
    from gatekeeper.identity.courier import Courier
    from gatekeeper.store.identities import IdentityRecord


@dataclass
class FollowedLink:
    """Where following an e-mailed link left the flow: `outcome` when the link completed it, `restarted` when the
    flow had expired and `flow` is a fresh one; `csrf_cookie` binds this browser to the flow."""

    flow: Flow
    csrf_cookie: str
    outcome: Outcome | None = None
    restarted: bool = False


class AddressFlows(FlowHandler):
    """Verification and recovery: an address, a secret sent to it, the secret back."""

    address_kind = "verifiable"

    def __init__(self, ctx: IdentityContext, courier: Courier, web_hooks: WebHooks | None = None) -> None:
        """`web_hooks`: the flow's before- and after-hooks (None: no hooks run, e.g. flows the admin API creates)."""
        self.cfg = getattr(ctx.config.selfservice.flows, str(self.kind))
        super().__init__(ctx, float(self.cfg.lifespan), web_hooks)
        methods = ctx.config.selfservice.methods
        method: AddressMethod | None = None
        if self.cfg.use == "link" and methods.link.enabled:
            method = LinkStrategy(ctx, courier, str(self.kind))
        elif self.cfg.use == "code" and methods.code.enabled:
            method = CodeStrategy(ctx, courier, str(self.kind))
        self.method = method
        self.strategies: list[Any] = [method] if method else []

    def check_init(self, current: Current, params: dict[str, Any]) -> None:
        if not self.cfg.enabled:
            name = "Recovery" if self.kind == FlowKind.RECOVERY else "Verification"
            raise BadRequest(reason=f"{name} is not allowed because it was disabled.")

    def populate(self, flow: Flow, current: Current, params: dict[str, Any]) -> None:
        if self.method is not None:
            self.method.populate(flow)

    async def lookup(self, address: str) -> tuple[IdentityRecord, str] | None:
        found = await self.ctx.store.address_owner(self.address_kind, channel_of(address), address)
        if found is None:
            return None
        ident = await self.ctx.store.identity(found[0])
        return None if ident is None else (ident, found[1])

    async def run_strategy(self, flow: Flow, body: dict[str, Any], client: ClientInfo,
                           current: Current) -> Outcome | None:
        if flow.body.get("state") == "passed_challenge":
            flow.add_message(text.already_completed(str(self.kind)))
            return None
        found, challenge = await self.ask(self.strategies, lambda s: s.answer(flow, body, self.lookup, client))
        if not found:
            flow.add_message(text.no_strategy(str(self.kind)))
            return None
        if challenge is None:
            return Outcome(flow=flow, in_progress=True, result="sent")
        return await self.passed(flow, challenge, client)

    async def passed(self, flow: Flow, challenge: Challenge, client: ClientInfo) -> Outcome | None:
        raise NotImplementedError

    async def address_verified(self, identity_id: str, address_id: str) -> None:
        """Mark it verified; this replica's cached sessions of the identity show it at once."""
        await self.ctx.store.mark_address_verified(address_id, datetime.now(UTC))
        for rec in await self.ctx.store.sessions_of_identity(identity_id):
            self.ctx.sessions.forget(rec.token_hash)

    async def identity_of(self, flow: Flow, challenge: Challenge) -> IdentityRecord:
        ident = await self.ctx.store.identity(str(challenge["identity_id"]))
        if ident is None or (self.kind == FlowKind.RECOVERY and ident.state != "active"):
            flow.add_message(text.code_invalid(str(self.kind)))
            raise ValidationFailed()
        return ident

    # -- the link in the e-mail ------------------------------------------------------------------------------

    async def follow_link(self, flow_id: str | None, code: str | None, token: str | None,
                          client: ClientInfo) -> FollowedLink:
        """`GET /self-service/<flow>?flow=&code=` (or `&token=`): what the e-mail's link opens. A code prefills the
        form (Kratos: the user submits it); a link token completes the flow; an expired flow is replaced."""
        flow = await self.flows.load(flow_id)
        if not code and not token:
            raise BadRequest(reason="The link needs a code or a token.")
        if flow.expired():
            fresh, cookie = await self.create(FlowType.BROWSER, client, {"return_to": flow.return_to}, None)
            fresh.add_message(self.flows.expired_message(flow))
            await self.flows.save(fresh)
            return FollowedLink(fresh, cookie, restarted=True)
        cookie = self.bind(flow, client)
        await self.ctx.store.update_flow_csrf(flow.id, flow.record.csrf_hash)
        outcome: Outcome | None = None
        if code and isinstance(self.method, CodeStrategy) and not flow.internal.get("completed"):
            self.method.rewrite_for_link(flow, code[:16])
            await self.flows.save(flow)
        elif token and isinstance(self.method, LinkStrategy) and not flow.internal.get("completed"):
            flow.reset_messages()
            challenge = await self.method.use(flow, token[:256])
            if challenge is None:
                flow.add_message(text.token_invalid(str(self.kind)))
            else:
                try:
                    outcome = await self.passed(flow, challenge, client)
                except ValidationFailed:
                    outcome = None
                if outcome is not None:
                    flow.internal["completed"] = True
                    flow.body["state"] = "passed_challenge"
            await self.flows.save(flow)
        return FollowedLink(flow, cookie, outcome)

    def bind(self, flow: Flow, client: ClientInfo) -> str:
        """Bind a browser flow to this browser's CSRF cookie (Kratos regenerates it when a link is followed)."""
        token = self.csrf_token_for(client)
        if flow.is_browser:
            flow.record.csrf_hash = csrf.digest(token)
            node = find(flow.nodes, "csrf_token")
            if node is not None:
                node["attributes"]["value"] = csrf.mask(token)
        return token


class VerificationFlows(AddressFlows):
    kind = FlowKind.VERIFICATION

    async def fetch(self, flow_id: str | None, client: ClientInfo) -> Flow:
        """A flow a hook created is bound to the first browser that shows it (its CSRF cookie was rotated
        when the session was issued)."""
        flow = await self.flows.load(flow_id)
        if flow.is_browser and flow.internal.pop("unbound", False) and not flow.expired():
            cookie = client.cookies.get(self.ctx.csrf_cookie)
            if cookie and csrf.verify(cookie, cookie):
                self.bind(flow, client)
                await self.flows.save(flow)
                await self.ctx.store.update_flow_csrf(flow.id, flow.record.csrf_hash)
        return await super().fetch(flow_id, client)

    async def passed(self, flow: Flow, challenge: Challenge, client: ClientInfo) -> Outcome | None:
        ident = await self.identity_of(flow, challenge)
        address_id = str(challenge.get("address_id") or "")
        if address_id:
            await self.address_verified(ident.id, address_id)
        ident = await self.ctx.store.identity(ident.id) or ident
        if self.web_hooks is not None:
            await self.web_hooks.web_hooks("verification", str(self.method.id if self.method else "code"), flow,
                                       ident, client)
        target = flow.return_to or self.cfg.after.default_browser_return_url or self.ctx.default_return_url
        flow.ui.clear()
        flow.ui.update({"action": target, "method": "GET", "nodes": [_continue(target)],
                        "messages": [text.verification_successful()]})
        return Outcome(flow=flow, identity=ident, return_to=target)

    # -- the service other flows call (VerificationSender) ------------------------------------------------------

    @property
    def can_send(self) -> bool:
        return self.method is not None

    async def send_code(self, identity_record: IdentityRecord, address: str, *,
                        flow_type: FlowType = FlowType.BROWSER, client: ClientInfo | None = None,
                        return_to: str | None = None) -> Flow:
        """A verification flow in `sent_email` for `address` of `identity_record`, its code (or link) e-mailed.

        Works whether or not the verification flow is enabled for self-service (Kratos sends it either way)."""
        if self.method is None:
            raise GatekeeperError(reason="No verification method is enabled (selfservice.methods.code).")
        client = client or ClientInfo(url=self.flows.init_url(flow_type))
        token = csrf.new_token()
        flow = self.flows.new(flow_type, client, return_to=return_to, csrf_token=token, extra={})
        self.method.populate(flow)
        flow.nodes.insert(0, csrf_node(self.flows.csrf_node_value(flow, token)))
        flow.internal["unbound"] = True
        value = normalise_identifier(address)
        address_id = next((a.id for a in identity_record.addresses
                           if a.kind == "verifiable" and a.value == value), "")
        await self.method.send(flow, value, identity_record, address_id=address_id)
        flow.body["state"] = "sent_email"
        flow.body["active"] = self.method.id
        self.method.populate_sent(flow, value)
        await self.flows.insert(flow)
        return flow

    def continue_with(self, flow: Flow, address: str) -> dict[str, Any]:
        """Kratos' `show_verification_ui` item (`url` for browser flows only)."""
        item: dict[str, Any] = {"id": flow.id, "verifiable_address": address}
        if flow.is_browser:
            item["url"] = self.flows.ui_redirect(flow.id)
        return {"action": "show_verification_ui", "flow": item}


def _continue(href: str) -> dict[str, Any]:
    title = text.continue_button()
    return {"type": "a", "group": str(Group.CODE),
            "attributes": {"id": "continue", "href": href, "title": title, "node_type": "a"},
            "messages": [], "meta": {"label": title}}
