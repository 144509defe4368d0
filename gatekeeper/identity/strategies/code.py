"""The `code` method of verification and recovery: a 6-digit one-time code e-mailed to an address.

The secret is a flow-bound one-time challenge (strategies/onetime.py). Unknown addresses get the same answer as
known ones (no enumeration); `notify_unknown_recipients` mails them the *_invalid template.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, ClassVar

from gatekeeper.errors import GatekeeperError
from gatekeeper.identity import text
from gatekeeper.identity.flows.base import Flow, NotResponsible, ValidationFailed
from gatekeeper.identity.phones import channel_of, graceful
from gatekeeper.identity.strategies.common import MAX_FIELD, attach, text_field
from gatekeeper.identity.strategies.onetime import Challenge, OneTimeCodes, new_code
from gatekeeper.identity.ui import Group, input_node, submit_node

if TYPE_CHECKING:
    from gatekeeper.identity.client import ClientInfo
    from gatekeeper.identity.context import IdentityContext
    from gatekeeper.identity.courier import Courier
    from gatekeeper.store.identities import IdentityRecord

log = logging.getLogger("gatekeeper.identity.code")

__all__ = ["AddressMethod", "Challenge", "CodeStrategy"]


class AddressMethod:
    """What `code` and `link` share: the e-mail form, sending a secret, checking it once."""

    id: ClassVar[str] = ""
    group: ClassVar[Group] = Group.CODE
    secret_name: ClassVar[str] = ""

    def __init__(self, ctx: IdentityContext, courier: Courier, kind: str) -> None:
        self.ctx, self.courier, self.kind = ctx, courier, kind
        flow_cfg = getattr(ctx.config.selfservice.flows, kind)
        self.notify_unknown = flow_cfg.notify_unknown_recipients
        self.codes = OneTimeCodes(ctx, kind, self.id, getattr(ctx.config.selfservice.methods, self.id).config)
        self.lifespan = self.codes.lifespan

    # -- the form ----------------------------------------------------------------------------------------

    def populate(self, flow: Flow) -> None:
        """choose_method: the address and the method's submit."""
        flow.nodes.append(input_node("email", Group.CODE, type="email", required=True, label=text.email_label()))
        flow.nodes.append(submit_node("method", self.id, Group.CODE, text.continue_button()))

    def populate_sent(self, flow: Flow, address: str) -> None:
        raise NotImplementedError

    # -- secrets -----------------------------------------------------------------------------------------

    def digest(self, flow: Flow, secret: str) -> str:
        return self.codes.digest(flow, secret)

    def new_secret(self) -> str:
        raise NotImplementedError

    async def send(self, flow: Flow, address: str, owner: IdentityRecord | None, *, address_id: str = "") -> None:
        """Replace the flow's challenge with a fresh one for `address` and e-mail it (or the unknown notice)."""
        await self.codes.clear(flow)
        if owner is None:
            if self.notify_unknown:
                await self._mail(address, f"{self.template}_invalid", {"request_url": flow.body["request_url"]})
            return
        secret = self.new_secret()
        self.codes.issue(flow, secret, address=address, identity_id=owner.id, address_id=address_id)
        data = {**self.template_data(flow, secret), "request_url": flow.body["request_url"],
                "identity": self.ctx.identities.to_json(owner), "expires_in_minutes": self.codes.expires_in_minutes}
        await self._mail(address, f"{self.template}_valid", data)

    @property
    def template(self) -> str:
        return f"{self.kind}_code" if self.id == "code" else self.kind

    def template_data(self, flow: Flow, secret: str) -> dict[str, Any]:
        raise NotImplementedError

    async def _mail(self, address: str, template: str, data: dict[str, Any]) -> None:
        try:
            await self.courier.enqueue(channel_of(address), address, template, data)
        except GatekeeperError as exc:  # a bad address: same answer as any other (no enumeration)
            log.info("verification/recovery e-mail not queued", extra={"flow": self.kind, "error": exc.reason})

    async def use(self, flow: Flow, secret: str) -> Challenge | None:
        """The challenge `secret` answers, marked used; None when wrong, expired, used or tried too often."""
        return await self.codes.use(flow, secret)

    # -- submissions ---------------------------------------------------------------------------------------

    async def request(self, flow: Flow, body: dict[str, Any], lookup: Any, client: ClientInfo) -> str:
        """`email` submitted: send a secret (to whoever owns it) and show the sent state; returns the address.

        Sending is throttled per address (10 an hour) and per client address (200 an hour: no mail bombing)."""
        raw = text_field(body, "email")
        if not raw or not raw.strip():
            attach(flow, "email", text.required("email"))
            raise ValidationFailed()
        address = graceful(raw)[:MAX_FIELD]
        await self.codes.throttle_send(address, client)
        found = await lookup(address)
        owner, address_id = found if found else (None, "")
        await self.send(flow, address, owner, address_id=address_id)
        flow.body["state"] = "sent_email"
        flow.body["active"] = self.id
        self.populate_sent(flow, address)
        return address


class CodeStrategy(AddressMethod):
    id: ClassVar[str] = "code"

    def new_secret(self) -> str:
        return new_code()

    def submit_url(self, flow: Flow, **params: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return f"{self.ctx.public_base_url}/self-service/{self.kind}?flow={flow.id}&{query}"

    def template_data(self, flow: Flow, secret: str) -> dict[str, Any]:
        if self.kind == "recovery":
            return {"recovery_code": secret}
        return {"verification_code": secret, "verification_url": self.submit_url(flow, code=secret)}

    def populate_sent(self, flow: Flow, address: str) -> None:
        """sent_email: the code input, the submit, and a resend button carrying the address."""
        csrf = [n for n in flow.nodes if n["attributes"].get("name") == "csrf_token"]
        label = text.recovery_code_label() if self.kind == "recovery" else text.verification_code_label()
        code = input_node("code", Group.CODE, type="text", required=True, pattern="[0-9]+", label=label)
        code["attributes"]["maxlength"] = 6
        code["attributes"]["autocomplete"] = "one-time-code"
        flow.nodes = [*csrf, code, input_node("method", Group.CODE, type="hidden", value=self.id),
                      submit_node("method", self.id, Group.CODE, text.continue_button()),
                      submit_node("email", address, Group.CODE, text.resend_code_button())]
        flow.reset_messages()
        flow.add_message(text.code_sent(self.kind))

    async def answer(self, flow: Flow, body: dict[str, Any], lookup: Any, client: ClientInfo) -> Challenge | None:
        """A submission for this method: the passed challenge, or None when the flow goes on (code sent).

        As Kratos: a non-empty `code` is checked; otherwise the `email` gets a (new) code."""
        if body.get("method") != self.id:
            raise NotResponsible()
        code = text_field(body, "code")
        if code and code.strip():
            challenge = await self.use(flow, code.strip())
            if challenge is None:
                flow.reset_messages()
                flow.add_message(text.code_invalid(self.kind))
                raise ValidationFailed()
            return challenge
        await self.request(flow, body, lookup, client)
        return None

    def rewrite_for_link(self, flow: Flow, code: str) -> None:
        """The link in the e-mail (GET ...?flow=&code=): prefill the code for the UI to submit."""
        node = next((n for n in flow.nodes if n["attributes"].get("name") == "code"), None)
        if node is not None:
            node["attributes"]["value"] = code


