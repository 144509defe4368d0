"""Microsoft Entra ID (OpenID Connect, multi-tenant issuers)."""

from __future__ import annotations

from typing import Any

from gatekeeper.identity.oidc.errors import OidcFailed
from gatekeeper.identity.oidc.providers.base import Provider

CONSUMER_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"  # personal Microsoft accounts


class Microsoft(Provider):
    """Entra ID: `microsoft_tenant` is `common`, `organizations`, `consumers` or a tenant id/domain.

    The multi-tenant discovery documents name the issuer `https://login.microsoftonline.com/{tenantid}/v2.0`;
    a token's `iss` must be that template filled with the token's own `tid` claim."""

    kind = "microsoft"
    required = ()
    default_scope = ("openid", "email", "profile")

    def issuer(self) -> str:
        base = (self.cfg.issuer_url or "https://login.microsoftonline.com").rstrip("/")
        return f"{base}/{self.cfg.microsoft_tenant}/v2.0"

    def _check_discovered_issuer(self, issuer: str) -> None:
        """The tenant's own discovery names its tenant id, not the configured alias: no comparison."""

    def expected_issuer(self, unverified: dict[str, Any]) -> str:
        template = super().expected_issuer(unverified)
        if "{tenantid}" not in template:
            return template
        tid = unverified.get("tid")
        if not isinstance(tid, str) or not tid or "/" in tid or "{" in tid:
            raise OidcFailed("The ID token has no usable tid (tenant) claim.")
        return template.replace("{tenantid}", tid)

    def check_claims(self, claims: dict[str, Any]) -> None:
        tenant, tid = self.cfg.microsoft_tenant, claims.get("tid")
        if tenant == "organizations" and tid == CONSUMER_TENANT:
            raise OidcFailed("Personal Microsoft accounts may not sign in here (microsoft_tenant: organizations).")
        if tenant == "consumers" and tid != CONSUMER_TENANT:
            raise OidcFailed("Only personal Microsoft accounts may sign in here (microsoft_tenant: consumers).")
