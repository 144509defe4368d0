"""Google (OpenID Connect). `google_hosted_domains` admits only Google Workspace accounts of those domains (the
verified id_token's `hd` claim), as oauth2-proxy's Google domain restriction; with one domain, Google's account
chooser is told (`hd` in the authorization URL)."""

from __future__ import annotations

from typing import Any

from gatekeeper.identity.oidc.errors import OidcFailed
from gatekeeper.identity.oidc.providers.base import Provider


class Google(Provider):
    kind = "google"
    required = ()
    default_scope = ("openid", "email", "profile")

    def issuer(self) -> str:
        return (self.cfg.issuer_url or "https://accounts.google.com").rstrip("/")

    def expected_issuer(self, unverified: dict[str, Any]) -> str:
        # Google documents both forms of its issuer; accept the bare one only from Google itself
        if not self.cfg.issuer_url and unverified.get("iss") == "accounts.google.com":
            return "accounts.google.com"
        return super().expected_issuer(unverified)

    def auth_params(self) -> dict[str, str]:
        domains = self.cfg.google_hosted_domains
        return {"hd": domains[0]} if len(domains) == 1 else {}

    def check_claims(self, claims: dict[str, Any]) -> None:
        domains = {d.lower() for d in self.cfg.google_hosted_domains}
        if domains and str(claims.get("hd", "")).lower() not in domains:
            raise OidcFailed("Only Google Workspace accounts of " + ", ".join(sorted(domains)) + " may sign in here.")
