"""The message for a registration whose identifier or address is taken (Kratos' identity manager, `Create`).

With `selfservice.flows.registration.login_hints` the message is 4000028 and names how the existing account signs
in: its first-factor credential types, its social sign-in providers and the identifier that clashed (as Kratos'
`findExistingAuthMethod`); without it, the plain 4000007.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from gatekeeper.errors import UniqueViolation
from gatekeeper.identity import text
from gatekeeper.identity.flows.base import Flow, ValidationFailed
from gatekeeper.identity.text import Msg
from gatekeeper.store.identities import IdentityRecord

if TYPE_CHECKING:
    from gatekeeper.identity.context import IdentityContext

ERR_DUPLICATE_WITH_HINTS = 4000028
_READABLE = {"password": "your password", "oidc": "social sign in", "saml": "social sign in",
             "webauthn": "your passkey or a security key", "passkey": "your passkey"}


async def create_registered(ctx: IdentityContext, flow: Flow, ident: IdentityRecord) -> IdentityRecord:
    """Store an identity a registration made (and return it); a taken identifier or address refuses the flow with
    the duplicate message (Kratos' 4000007, or 4000028 with login hints)."""
    try:
        await ctx.identities.create(ident)
    except UniqueViolation:
        flow.add_message(await duplicate_message(ctx, ident))
        raise ValidationFailed() from None
    return ident


async def duplicate_message(ctx: IdentityContext, new: IdentityRecord) -> dict[str, Any]:
    """The UI message for `new`, which could not be stored because an identifier or address is taken."""
    if not ctx.config.selfservice.flows.registration.login_hints:
        return text.duplicate_credentials()
    found = await conflicting(ctx, new)
    if found is None:
        return text.duplicate_credentials()
    existing, address, kind = found
    hint = address.strip() if kind != "oidc" else ""  # an OIDC subject means nothing to the user
    types: list[str] = []
    providers: list[str] = []
    for cred in sorted(existing.credentials.values(), key=lambda c: c.type):
        config = cred.config or {}
        if cred.type in ("password", "webauthn", "passkey") and not hint and len(cred.identifiers) == 1:
            hint = cred.identifiers[0]
        if cred.type == "password" and config.get("hashed_password"):
            types.append(cred.type)
        elif cred.type == "code":
            types.append(cred.type)
        elif cred.type == "oidc":
            types.append(cred.type)
            providers.extend(str(p.get("provider", "")) for p in config.get("providers", []))
        elif cred.type in ("webauthn", "passkey") and any(c.get("is_passwordless")
                                                          for c in config.get("credentials", [])):
            types.append(cred.type)
    if not types and not providers and not hint:
        return text.duplicate_credentials()
    return with_hints(sorted(types), sorted(providers), hint)


async def conflicting(ctx: IdentityContext, new: IdentityRecord) -> tuple[IdentityRecord, str, str] | None:
    """The stored identity `new` clashes with, the clashing value and its credential type or address channel:
    credential identifiers first, then verifiable, then recovery addresses."""
    for cred in new.credentials.values():
        for identifier in cred.identifiers:
            found = await ctx.store.identity_by_identifier(cred.type, identifier)
            if found is not None:
                return found, identifier, cred.type
    for kind in ("verifiable", "recovery"):
        for address in (a for a in new.addresses if a.kind == kind):
            owner = await ctx.store.address_owner(kind, address.via, address.value)
            found = await ctx.store.identity(owner[0]) if owner else None
            if found is not None:
                return found, address.value, address.via
    return None


def with_hints(types: list[str], providers: list[str], hint: str) -> dict[str, Any]:
    """Kratos' 4000028 text and context."""
    reason = f"You tried signing in with {hint or 'an email, phone, or username'} which is already in use by " \
             "another account."
    if types:
        readable = list(dict.fromkeys(_READABLE[t] for t in types if t in _READABLE)) or list(types)
        if len(readable) > 1:
            readable[-1] = "or " + readable[-1]
        reason += f" You can sign in using {', '.join(readable)}."
    if providers:
        reason += " You can sign in using one of the following social sign in providers: " \
                  f"{', '.join(p.title() for p in providers)}."
    return text.error(cast(Msg, ERR_DUPLICATE_WITH_HINTS), reason, available_credential_types=types,
                      available_oidc_providers=providers, credential_identifier_hint=hint)
