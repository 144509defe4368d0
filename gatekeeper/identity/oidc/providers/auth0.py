"""Auth0 (endpoints under the tenant's `issuer_url`)."""

from __future__ import annotations

from typing import Any

from gatekeeper.identity.oidc.providers.oauth2 import OAuth2


class Auth0(OAuth2):
    """Auth0: endpoints under the tenant's `issuer_url`; claims from its userinfo endpoint (as Kratos)."""

    kind = "auth0"
    required = ("issuer_url",)
    default_scope = ("openid", "email", "profile")
    auth_endpoint, exchange_endpoint, user_endpoint = "/authorize", "/oauth/token", "/userinfo"

    def moved(self, url: str) -> str:
        return self.cfg.issuer_url.rstrip("/") + url

    def map_claims(self, user: dict[str, Any], tokens: dict[str, Any]) -> dict[str, Any]:
        return {**user, "iss": user.get("iss") or self.cfg.issuer_url}
