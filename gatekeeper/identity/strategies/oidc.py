"""The oidc method: one "Sign in/up with <provider>" button per provider; a submitted `provider` sends the
browser to it (the callback finishes the flow, see identity/oidc/service.py). After a sign-in whose traits
did not pass the schema, the same button continues the registration with the completed traits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from gatekeeper.identity import text
from gatekeeper.identity.flows.base import Flow, NotResponsible, ValidationFailed
from gatekeeper.identity.oidc.errors import BrowserLocationChangeRequired
from gatekeeper.identity.oidc.service import CallbackResult
from gatekeeper.identity.schemas import IdentitySchema
from gatekeeper.identity.strategies.common import submitted_traits
from gatekeeper.identity.ui import Group, submit_node

if TYPE_CHECKING:
    from gatekeeper.identity.client import ClientInfo
    from gatekeeper.identity.oidc.service import SocialSignIn
    from gatekeeper.store.identities import IdentityRecord


class OidcStrategy:
    id: ClassVar[str] = "oidc"
    group: ClassVar[Group] = Group.OIDC
    identifier_free: ClassVar[bool] = True  # the provider's buttons show on the identifier-first step too

    def __init__(self, social: SocialSignIn) -> None:
        self.social = social

    async def before_session(self, flow: Flow, ident: IdentityRecord) -> None:
        """A login that proved ownership of an account links the provider the user came with (1010016)."""
        await self.social.link_pending(flow, ident)

    def _buttons(self, flow: Flow, label: Any) -> None:
        for provider in self.social.providers.values():
            flow.nodes.append(submit_node("provider", provider.id, Group.OIDC, label(provider.label, provider.id)))

    def populate_login(self, flow: Flow, schema: IdentitySchema, *, identifier: str | None = None) -> None:
        self._buttons(flow, text.login_with)

    def populate_registration(self, flow: Flow) -> None:
        self._buttons(flow, text.registration_with)

    def populate_credentials(self, flow: Flow) -> None:
        """The providers' buttons stay on the profile screen only."""

    def _provider(self, body: dict[str, Any]) -> str:
        """Kratos: responsible when a `provider` is sent and `method` is empty or oidc."""
        provider = body.get("provider")
        if not isinstance(provider, str) or not provider or body.get("method") not in (None, "", self.id):
            raise NotResponsible()
        body["method"] = self.id  # the flow records the method that completed it
        return provider

    async def login(self, flow: Flow, body: dict[str, Any], client: ClientInfo) -> IdentityRecord:
        provider = self._provider(body)
        id_token = body.get("id_token")
        if isinstance(id_token, str) and id_token:  # native apps (Kratos' id_token + id_token_nonce)
            return await self.social.with_id_token(flow, provider, id_token, _text(body.get("id_token_nonce")),
                                                   submitted_traits(body), client)
        await self.social.redirect(flow, provider, body.get("upstream_parameters"))

    async def register(self, flow: Flow, body: dict[str, Any], client: ClientInfo,
                       schema: IdentitySchema) -> IdentityRecord | None:
        provider = self._provider(body)
        id_token = body.get("id_token")
        if isinstance(id_token, str) and id_token:
            return await self.social.with_id_token(flow, provider, id_token, _text(body.get("id_token_nonce")),
                                                   submitted_traits(body), client)
        pending = flow.internal.get("oidc_pending")
        if not pending or pending.get("provider") != provider:
            await self.social.redirect(flow, provider, body.get("upstream_parameters"))
        done = await self.social.complete_registration(flow, pending, submitted_traits(body), client)
        if done is None:
            raise ValidationFailed()
        if isinstance(done, CallbackResult):  # the address has an account: its linking login flow takes over
            raise BrowserLocationChangeRequired(done.redirect)
        return done

    # -- settings: link and unlink -------------------------------------------------------------------------

    def populate_settings(self, flow: Flow, ident: IdentityRecord) -> None:
        """`link` for every provider not linked yet; `unlink` for linked ones unless it is the last way in."""
        linked = self.social.linked(ident)
        for provider in self.social.providers.values():
            if provider.id not in linked:
                flow.nodes.append(submit_node("link", provider.id, Group.OIDC, text.link_oidc(provider.label)))
        if self.social.first_factors(ident) > 1:
            for provider in self.social.providers.values():
                if provider.id in linked:
                    flow.nodes.append(submit_node("unlink", provider.id, Group.OIDC,
                                                  text.unlink_oidc(provider.label)))

    def claims(self, body: dict[str, Any]) -> bool:
        link, unlink = body.get("link"), body.get("unlink")
        return body.get("method") in (None, "", self.id) and bool(isinstance(link, str) and link
                                                                   or isinstance(unlink, str) and unlink)

    def needs_privilege(self, body: dict[str, Any], ident: IdentityRecord) -> bool:
        return True  # Kratos: linking and unlinking need a recent sign-in

    def proven_aal(self, body: dict[str, Any]) -> str | None:
        return None  # a linked provider is recorded when its callback completes

    async def settings(self, flow: Flow, body: dict[str, Any], ident: IdentityRecord) -> bool:
        link, unlink = body.get("link"), body.get("unlink")
        linked = self.social.linked(ident)
        if isinstance(link, str) and link:
            if link not in self.social.providers or link in linked:
                flow.add_message(text.generic("can not link unknown or already existing OpenID Connect "
                                              "connection"))
                raise ValidationFailed()
            await self.social.redirect(flow, link)
        assert isinstance(unlink, str)
        if unlink not in linked:
            flow.add_message(text.generic("can not unlink non-existing OpenID Connect connection"))
            raise ValidationFailed()
        if self.social.first_factors(ident) < 2:
            flow.add_message(text.generic("can not unlink OpenID Connect connection because it is the last "
                                          "remaining first factor credential"))
            raise ValidationFailed()
        await self.social.unlink(ident, unlink)
        return True


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
