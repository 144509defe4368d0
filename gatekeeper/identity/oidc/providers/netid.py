"""netID (OpenID Connect at its broker)."""

from __future__ import annotations

from gatekeeper.identity.oidc.providers.base import Provider


class NetID(Provider):
    """netID's broker (OpenID Connect); claims from userinfo, subject and issuer from the id_token."""

    kind = "netid"
    required = ()
    default_scope = ("openid",)
    userinfo_claims = True

    def issuer(self) -> str:
        return (self.cfg.issuer_url or "https://broker.netid.de").rstrip("/")
