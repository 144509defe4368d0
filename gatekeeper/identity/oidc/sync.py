"""Claims kept current: Kratos' `update_identity_on_login: automatic`. On every social sign-in with a linked
provider the mapper runs again (it also sees the identity as `std.extVar('identity')`) and its output is applied:
traits merged over the existing ones (the mapper wins, traits it does not return stay), `metadata_public` and
`metadata_admin` replaced when the mapper returns them, kept when it does not; addresses that stay keep their
verification, addresses the mapper lists as verified become verified. The result must pass the schema (else
the sign-in is refused and nothing changes). When anything changed, every replica re-reads the identity's
sessions within the revocation bound (Sessions.reload_identity), so a rule reading a removed group denies."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from gatekeeper.errors import UniqueViolation
from gatekeeper.identity.context import IdentityContext
from gatekeeper.identity.oidc.errors import OidcFailed
from gatekeeper.identity.oidc.mapper import Mapper, merge
from gatekeeper.identity.strategies.password_settings import save_traits
from gatekeeper.store.identities import IdentityRecord

log = logging.getLogger("gatekeeper.identity.oidc")


async def update_from_claims(ctx: IdentityContext, mapper: Mapper, ident: IdentityRecord,
                             claims: dict[str, Any], provider_id: str) -> bool:
    """Apply the mapper's view of `claims` to `ident` (stored, and on `ident`); True when something changed."""
    mapped = await mapper.evaluate(claims, {"traits": ident.traits, "metadata_public": ident.metadata_public,
                                            "metadata_admin": ident.metadata_admin})
    schema = ctx.schemas.get(ident.schema_id) or ctx.schemas.default
    traits = schema.coerce(merge(ident.traits or {}, mapped.traits))
    problems = schema.validate(traits)
    if problems:
        raise OidcFailed("The identity provider's claims no longer make a valid identity: "
                         + "; ".join(f"{node}: {message['text']}" for node, message in problems))
    public = mapped.metadata_public if "metadata_public" in mapped.given else ident.metadata_public
    admin = mapped.metadata_admin if "metadata_admin" in mapped.given else ident.metadata_admin
    now = datetime.now(UTC)
    changed = False
    if traits != ident.traits:
        try:
            await save_traits(ctx, ident, schema, traits)
        except UniqueViolation:
            raise OidcFailed("The identity provider's claims name an address or identifier that belongs to "
                             "another account.") from None
        changed = True
    if (public, admin) != (ident.metadata_public, ident.metadata_admin):
        await ctx.store.update_identity_metadata(ident.id, public, admin, now)
        ident.metadata_public, ident.metadata_admin = public, admin
        changed = True
    verified = {(str(v.get("via")), str(v.get("value", "")).strip().lower()) for v in mapped.verified_addresses}
    for address in ident.addresses:
        if address.kind == "verifiable" and not address.verified and (address.via, address.value) in verified:
            await ctx.store.mark_address_verified(address.id, now)
            address.verified, address.status, address.verified_at = True, "completed", now
            changed = True
    if changed:
        reloaded = await ctx.sessions.reload_identity(ident.id)
        log.info("identity updated from provider claims", extra={"identity_id": ident.id, "provider": provider_id,
                                                                 "sessions_reloaded": reloaded})
    return changed
