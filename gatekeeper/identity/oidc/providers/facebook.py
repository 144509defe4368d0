"""Facebook (OAuth2 + the Graph API)."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from gatekeeper.identity.oidc.providers.oauth2 import OAuth2


class Facebook(OAuth2):
    """The Graph API's `/me` with `appsecret_proof`; an address Facebook returns counts as verified (Kratos)."""

    kind = "facebook"
    default_scope = ("email", "public_profile")
    auth_endpoint = "https://facebook.com/dialog/oauth"
    exchange_endpoint = "https://graph.facebook.com/oauth/access_token"
    user_endpoint = "https://graph.facebook.com/me"
    FIELDS = "id,name,first_name,last_name,middle_name,email,picture,birthday,gender"

    async def fetch_user(self, tokens: dict[str, Any]) -> Any:
        token = str(tokens["access_token"])
        proof = hmac.new(self.client_secret().encode(), token.encode(), hashlib.sha256).hexdigest()
        url = f"{await self.endpoint('userinfo_endpoint')}?fields={self.FIELDS}&appsecret_proof={proof}"
        return await self._get_json(url, "me", token=token)

    def map_claims(self, user: dict[str, Any], tokens: dict[str, Any]) -> dict[str, Any]:
        picture = ((user.get("picture") or {}).get("data") or {}).get("url")
        return {"iss": self.user_endpoint, "sub": user.get("id"), "name": user.get("name"),
                "given_name": user.get("first_name"), "family_name": user.get("last_name"),
                "middle_name": user.get("middle_name"), "nickname": user.get("name"),
                "preferred_username": user.get("name"), "picture": picture, "email": user.get("email"),
                "email_verified": bool(user.get("email")), "gender": user.get("gender"),
                "birthdate": user.get("birthday")}
