"""Accounts that already exist: linking a provider after the user proved they own the account (Kratos' login
flow with message 1010016), and linking / unlinking providers in account settings (never the last way in)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gatekeeper.identity import text, text_settings
from gatekeeper.identity.client import ClientInfo
from gatekeeper.identity.context import IdentityContext
from gatekeeper.identity.flows.base import Flow, FlowType, ValidationFailed
from gatekeeper.identity.flows.bundle import FlowHandlers
from gatekeeper.identity.flows.handler import Current
from gatekeeper.identity.oidc.providers import Provider
from gatekeeper.identity.ui import find
from gatekeeper.store.identities import CredentialRecord, IdentityRecord

log = logging.getLogger("gatekeeper.identity.oidc")


@dataclass
class CallbackResult:
    """Where the browser goes next, and the session to set when it signed in."""

    redirect: str
    session: Any = None
    token: str | None = None
    result: str = "signed_in"  # for gatekeeper_social_sign_in_total


class Linking:
    """Part of SocialSignIn (service.py): what happens to accounts that exist already."""

    ctx: IdentityContext
    flows: Callable[[], FlowHandlers]
    providers: dict[str, Provider]

    @staticmethod
    def _provider_entry(pending: dict[str, Any]) -> dict[str, Any]:
        return {"subject": pending["subject"], "provider": pending["provider"], **(pending.get("tokens") or {})}

    async def _ask_to_link(self, flow: Flow, pending: dict[str, Any], duplicate: str,
                           client: ClientInfo) -> CallbackResult:
        """A login flow explaining that the address has an account; signing in there links the provider."""
        login = self.flows().login
        lf, _ = await login.create(FlowType.BROWSER, client, {"return_to": flow.return_to}, None)
        provider = self.providers[pending["provider"]]
        nodes = []
        for node in lf.nodes:
            label = node.get("meta", {}).get("label")
            if node["group"] == "oidc" and node["attributes"].get("value") == provider.id:
                continue
            if label and label.get("id") == text.Msg.INFO_LOGIN_WITH:
                node["meta"]["label"] = text.login_with_and_link(label.get("context", {}).get("provider", ""))
            nodes.append(node)
        identifier = find(nodes, "identifier")
        if identifier is not None:
            identifier["attributes"].update(type="hidden", value=duplicate)
        lf.nodes = nodes
        lf.reset_messages()
        lf.add_message(text.login_link(duplicate, provider.label, self.ctx.ui_url("login"), [], []))
        lf.internal["oidc_link"] = {**pending, "identifier": duplicate}
        await login.flows.save(lf)
        return CallbackResult(login.flows.ui_redirect(lf.id), result="link_required")

    # -- linking after the user proved they own the account ------------------------------------------------

    async def link_pending(self, flow: Flow, ident: IdentityRecord) -> None:
        """Login success hook: add the provider the user came with to the account they just signed in to."""
        pending = flow.internal.get("oidc_link")
        if not pending:
            return
        password = ident.credentials.get("password")
        owned = {*(password.identifiers if password else []), *(a.value.lower() for a in ident.addresses)}
        if str(pending["identifier"]).lower() not in owned:
            flow.add_message(text.linked_credentials_mismatch())
            raise ValidationFailed()
        await self.link(ident, pending)
        flow.internal.pop("oidc_link")
        log.info("social sign-in linked", extra={"identity_id": ident.id, "provider": pending["provider"]})

    async def link(self, ident: IdentityRecord, pending: dict[str, Any]) -> None:
        now = datetime.now(UTC)
        cred = ident.credentials.get("oidc")
        entries = [e for e in (cred.config.get("providers", []) if cred else [])
                   if not (e.get("provider") == pending["provider"] and e.get("subject") == pending["subject"])]
        entries.append(self._provider_entry(pending))
        identifiers = sorted({*(cred.identifiers if cred else []), f"{pending['provider']}:{pending['subject']}"})
        record = CredentialRecord(id=cred.id if cred else str(uuid.uuid4()), type="oidc", identifiers=identifiers,
                                  config={"providers": entries}, created_at=cred.created_at if cred else now,
                                  updated_at=now)
        await self.ctx.store.put_credential(ident.id, record)
        ident.credentials["oidc"] = record


    async def replace_tokens(self, ident: IdentityRecord, provider_id: str, subject: str,
                             kept: dict[str, Any]) -> None:
        """A sign-in with a linked provider: its entry keeps the new current tokens (not Kratos' initial ones)."""
        cred = ident.credentials.get("oidc")
        if cred is None:
            return
        fresh = {k: v for k, v in kept.items() if not k.startswith("initial_")}
        entries = [{**{k: v for k, v in e.items() if k not in ("tokens", "refresh_at")}, **fresh}
                   if e.get("provider") == provider_id and e.get("subject") == subject else e
                   for e in cred.config.get("providers", [])]
        record = CredentialRecord(id=cred.id, type="oidc", identifiers=cred.identifiers,
                                  config={**cred.config, "providers": entries}, created_at=cred.created_at,
                                  updated_at=datetime.now(UTC))
        await self.ctx.store.put_credential(ident.id, record)
        ident.credentials["oidc"] = record

    async def unlink(self, ident: IdentityRecord, provider_id: str) -> None:
        cred = ident.credentials["oidc"]
        entries = [e for e in cred.config.get("providers", []) if e.get("provider") != provider_id]
        record = CredentialRecord(id=cred.id, type="oidc", config={"providers": entries},
                                  identifiers=[f"{e['provider']}:{e['subject']}" for e in entries],
                                  created_at=cred.created_at, updated_at=datetime.now(UTC))
        if entries:
            await self.ctx.store.put_credential(ident.id, record)
            ident.credentials["oidc"] = record
        else:
            await self.ctx.store.delete_credential(ident.id, "oidc")
            ident.credentials.pop("oidc", None)

    @staticmethod
    def linked(ident: IdentityRecord) -> set[str]:
        cred = ident.credentials.get("oidc")
        return {str(e.get("provider")) for e in (cred.config.get("providers", []) if cred else [])}

    @staticmethod
    def first_factors(ident: IdentityRecord) -> int:
        """Ways to sign in: a password (with an identifier) and each linked provider (Kratos' count)."""
        password = ident.credentials.get("password")
        has_password = bool(password and password.identifiers and (password.config or {}).get("hashed_password"))
        oidc = ident.credentials.get("oidc")
        return int(has_password) + len(oidc.config.get("providers", []) if oidc else [])

    async def _link_in_settings(self, flow: Flow, provider: Provider, claims: dict[str, Any],
                                tokens: dict[str, str], current: Current) -> CallbackResult:
        settings = self.flows().settings
        session, ident = settings.require(current, flow)
        ident = await self.ctx.store.identity(ident.id) or ident
        flow.reset_messages()
        owner = await self.ctx.store.identity_by_identifier("oidc", f"{provider.id}:{claims['sub']}")
        if owner is not None:
            flow.add_message(text.duplicate_credentials())
        else:
            await self.link(ident, {"provider": provider.id, "subject": claims["sub"], "tokens": tokens})
            flow.body["state"] = "success"
            flow.add_message(text_settings.saved())
            self.ctx.sessions.forget(session.token_hash)  # the cached session holds the identity
        settings.render(flow, ident)
        settings.sort(flow)
        flow.body["active"] = "oidc"
        await settings.flows.save(flow)
        return CallbackResult(flow.return_to or settings.flows.ui_redirect(flow.id),
                              result="refused" if owner is not None else "linked")
