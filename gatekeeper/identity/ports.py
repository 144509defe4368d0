"""What identity's parts need from each other, declared by the side that needs it (the composition root in
`gatekeeper/server/` hands in the objects that fit)."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from gatekeeper.identity.client import ClientInfo
from gatekeeper.identity.flows.base import Flow, FlowType
from gatekeeper.identity.schemas import IdentitySchema
from gatekeeper.store.identities import IdentityRecord
from gatekeeper.store.sessions import SessionRecord


class VerificationSender(Protocol):
    """Sends a verification code (or link) for an address outside the verification flow itself: registration's
    `verification` hook, login's `require_verified_address`, a changed address in profile settings."""

    @property
    def can_send(self) -> bool:
        """Whether a verification method (code or link) is enabled."""

    async def send_code(self, identity_record: IdentityRecord, address: str, *, flow_type: FlowType = ...,
                        client: ClientInfo | None = None, return_to: str | None = None) -> Flow:
        """A verification flow in `sent_email` for `address`, its code (or link) sent."""

    def continue_with(self, flow: Flow, address: str) -> dict[str, Any]:
        """Kratos' `show_verification_ui` continue_with item for that flow."""


class ProviderLogout(Protocol):
    """Where a browser logout goes next when the session came from a provider that ends its own session there
    (OpenID Connect RP-initiated logout); None: straight to `return_to`."""

    async def end_session_url(self, session: SessionRecord, identity_record: IdentityRecord,
                              return_to: str) -> str | None: ...


class LoginMethod(Protocol):
    """A first factor besides the password, offered by the login flow (oidc)."""

    @property
    def id(self) -> str: ...

    @property
    def identifier_free(self) -> bool:
        """Offered on the identifier-first step too (it needs no identifier)."""

    def populate_login(self, flow: Flow, schema: IdentitySchema, *, identifier: str | None = None) -> None:
        """Add its nodes to a new login flow."""

    async def login(self, flow: Flow, body: dict[str, Any], client: ClientInfo) -> IdentityRecord | None:
        """The identity the submission proves; NotResponsible when the submission is not for this method."""

    async def before_session(self, flow: Flow, ident: IdentityRecord) -> None:
        """Called on every successful login before its session is issued; may refuse with ValidationFailed."""


class RegistrationMethod(Protocol):
    """A way to register besides the password (oidc, passkey, webauthn, code)."""

    @property
    def id(self) -> str: ...

    def populate_registration(self, flow: Flow) -> None:
        """Add its nodes to a new registration flow."""

    def populate_credentials(self, flow: Flow) -> None:
        """Add its nodes to the credential screen of the profile-first style (after the traits)."""

    async def register(self, flow: Flow, body: dict[str, Any], client: ClientInfo,
                       schema: IdentitySchema) -> IdentityRecord | None:
        """The new identity; None when the flow continues; NotResponsible when the submission is not its own."""


@runtime_checkable
class IdentificationLoginMethod(Protocol):
    """A first factor needing no identifier whose nodes on the identifier-first style's first screen differ from
    its unified ones (passkey: the autofill without the button)."""

    def populate_identification(self, flow: Flow, schema: IdentitySchema) -> None:
        """Add its nodes to the first screen."""


@runtime_checkable
class RefreshLoginMethod(Protocol):
    """A first factor whose refresh login form is built from the signed-in identity (code: its addresses;
    passkey: its keys, offered only when it has one)."""

    def populate_refresh(self, flow: Flow, ident: IdentityRecord) -> None:
        """Add its nodes to a refresh login of `ident`."""


@runtime_checkable
class IdentifiedLoginMethod(Protocol):
    """A first factor offered on the identifier-first style's second screen (code, passkey)."""

    def populate_identified(self, flow: Flow) -> None:
        """Add its nodes once the identifier is known."""


class SettingsMethod(Protocol):
    """A credential managed in the settings flow besides profile, password, TOTP and lookup codes (oidc)."""

    @property
    def id(self) -> str: ...

    def populate_settings(self, flow: Flow, ident: IdentityRecord) -> None:
        """Add its nodes to a settings flow of `ident`."""

    def claims(self, body: dict[str, Any]) -> bool:
        """Whether a settings submission is this method's (checked before the privileged-session rule, as Kratos
        asks its strategies for responsibility first)."""

    def needs_privilege(self, body: dict[str, Any], ident: IdentityRecord) -> bool:
        """Whether the submission needs a recently authenticated session."""

    async def settings(self, flow: Flow, body: dict[str, Any], ident: IdentityRecord) -> bool:
        """Apply a claimed submission; True when stored credentials changed."""

    def proven_aal(self, body: dict[str, Any]) -> str | None:
        """After a saved submission: the AAL of the method it proved (a key just added), which Kratos records on
        the session as completed; None when it proved none."""
