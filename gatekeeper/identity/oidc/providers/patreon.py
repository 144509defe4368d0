"""Patreon (OAuth2 + its v2 identity endpoint)."""

from __future__ import annotations

from typing import Any

from gatekeeper.identity.oidc.providers.oauth2 import OAuth2


class Patreon(OAuth2):
    kind = "patreon"
    default_scope = ("identity", "identity[email]")
    auth_endpoint = "https://www.patreon.com/oauth2/authorize"
    exchange_endpoint = "https://www.patreon.com/api/oauth2/token"
    user_endpoint = ("https://www.patreon.com/api/oauth2/v2/identity"
                     "?fields%5Buser%5D=first_name,last_name,url,full_name,email,image_url")

    def map_claims(self, user: dict[str, Any], tokens: dict[str, Any]) -> dict[str, Any]:
        data = user.get("data") or {}
        attrs = data.get("attributes") or {}
        return {"iss": "https://www.patreon.com/", "sub": data.get("id"), "name": attrs.get("full_name"),
                "email": attrs.get("email"), "given_name": attrs.get("first_name"),
                "family_name": attrs.get("last_name"), "last_name": attrs.get("last_name"),
                "picture": attrs.get("image_url")}
