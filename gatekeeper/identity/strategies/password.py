"""The password method: login (identifier + password) and registration (traits + password)."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from gatekeeper.identity import text
from gatekeeper.identity.flows.base import Flow, NotResponsible, ValidationFailed
from gatekeeper.identity.login_hints import create_registered
from gatekeeper.identity.schemas import IdentitySchema, normalise_identifier
from gatekeeper.identity.strategies.common import (
    MAX_FIELD,
    attach,
    refill_traits,
    submitted_traits,
    text_field,
)
from gatekeeper.identity.ui import Group, input_node, set_value, submit_node
from gatekeeper.store.identities import IdentityRecord

if TYPE_CHECKING:
    from gatekeeper.identity.client import ClientInfo
    from gatekeeper.identity.context import IdentityContext

log = logging.getLogger("gatekeeper.identity.password")


class PasswordStrategy:
    id: ClassVar[str] = "password"
    group: ClassVar[Group] = Group.PASSWORD

    def __init__(self, ctx: IdentityContext) -> None:
        self.ctx = ctx
        self.throttling = ctx.config.selfservice.flows.login.throttling

    # -- login -----------------------------------------------------------------------------------------

    def populate_login(self, flow: Flow, schema: IdentitySchema, *, identifier: str | None = None) -> None:
        """identifier (hidden and prefilled when re-authenticating), password, submit."""
        flow.nodes.append(input_node("identifier", Group.DEFAULT, type="hidden" if identifier else "text",
                                     value=identifier or "", required=True, label=schema.identifier_label()))
        self.populate_credentials(flow)

    def populate_credentials(self, flow: Flow) -> None:
        """The password and its submit (also the identifier-first style's second screen)."""
        flow.nodes.append(input_node("password", Group.PASSWORD, type="password", required=True,
                                     autocomplete="current-password", label=text.password_label()))
        flow.nodes.append(submit_node("method", "password", Group.PASSWORD, text.login_password_button()))

    async def login(self, flow: Flow, body: dict[str, Any], client: ClientInfo) -> IdentityRecord:
        if body.get("method") != self.id:
            raise NotResponsible()
        identifier = text_field(body, "identifier", "password_identifier")
        password = text_field(body, "password")
        set_value(flow.nodes, "identifier", identifier or "")
        missing = False
        if not identifier:
            attach(flow, "identifier", text.required("identifier"))
            missing = True
        if not password:
            attach(flow, "password", text.required("password"))
            missing = True
        if missing:
            raise ValidationFailed()
        assert identifier is not None and password is not None
        canonical = normalise_identifier(identifier)[:MAX_FIELD]
        t = self.throttling
        # counters are keyed by a digest: the throttle table holds no e-mail addresses
        id_key = "login:id:" + hashlib.sha256(canonical.encode()).hexdigest()[:40]
        await self.ctx.throttle(f"login:ip:{client.ip}", t.per_ip, float(t.window))
        await self.ctx.throttle(id_key, t.per_identifier, float(t.window))
        ident = await self.ctx.identities.by_identifier(canonical) if len(identifier) <= MAX_FIELD else None
        cred = ident.credentials.get("password") if ident else None
        stored = (cred.config or {}).get("hashed_password") if cred else None
        if len(password) > MAX_FIELD:
            ident = None
        elif not isinstance(stored, str) or ident is None or ident.state != "active":
            await self.ctx.hasher.verify_dummy(password)
            ident = None
        elif not await self.ctx.hasher.verify(stored, password):
            ident = None
        if ident is None:
            flow.add_message(text.invalid_credentials())
            raise ValidationFailed()
        await self.ctx.store.reset(id_key)
        if self.ctx.hasher.needs_rehash(stored):  # type: ignore[arg-type]
            await self._rehash(ident, password)
        return ident

    async def _rehash(self, ident: IdentityRecord, password: str) -> None:
        config = dict(ident.credentials["password"].config)
        config["hashed_password"] = await self.ctx.hasher.hash(password)
        await self.ctx.store.update_credential_config(ident.id, "password", config, datetime.now(UTC))
        log.info("password re-hashed with the configured parameters", extra={"identity_id": ident.id})

    # -- registration ----------------------------------------------------------------------------------

    def populate_registration(self, flow: Flow) -> None:
        flow.nodes.append(input_node("password", Group.PASSWORD, type="password", required=True,
                                     autocomplete="new-password", label=text.password_label()))
        flow.nodes.append(submit_node("method", "password", Group.PASSWORD, text.registration_button()))

    async def register(self, flow: Flow, body: dict[str, Any], client: ClientInfo,
                       schema: IdentitySchema) -> IdentityRecord | None:
        if body.get("method") != self.id:
            raise NotResponsible()
        traits = schema.coerce(submitted_traits(body, flow.internal.get("traits")))
        password = text_field(body, "password")
        refill_traits(flow, schema, traits)
        failed = False
        for name, message in schema.validate(traits):
            attach(flow, name, message)
            failed = True
        if not password:
            attach(flow, "password", text.required("password"))
            failed = True
        elif not failed:
            for message in await self.ctx.policy.problems(password, schema.identifiers(traits)):
                attach(flow, "password", message)
                failed = True
        if not failed and not schema.identifiers(traits):
            flow.add_message(text.identifier_missing())  # the schema marks no password identifier
            failed = True
        if failed:
            raise ValidationFailed()
        assert password is not None
        hashed = await self.ctx.hasher.hash(password)
        ident = self.ctx.identities.new(schema, traits, {"password": {"hashed_password": hashed}})
        return await create_registered(self.ctx, flow, ident)
