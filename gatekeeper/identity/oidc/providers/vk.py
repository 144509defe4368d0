"""VK (OAuth2 + `users.get`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from gatekeeper.identity.oidc.errors import OidcFailed
from gatekeeper.identity.oidc.providers.oauth2 import OAuth2


class VK(OAuth2):
    """VK's `users.get`; the e-mail comes with the token answer."""

    kind = "vk"
    default_scope = ("email",)
    auth_endpoint = "https://oauth.vk.com/authorize"
    exchange_endpoint = "https://oauth.vk.com/access_token"
    user_endpoint = "https://api.vk.com/method/users.get"

    async def fetch_user(self, tokens: dict[str, Any]) -> Any:
        url = (f"{await self.endpoint('userinfo_endpoint')}?fields=photo_200,nickname,bdate,sex"
               f"&access_token={quote(str(tokens['access_token']))}&v=5.103")
        answer = await self._get_json(url, "users.get")
        users = answer.get("response") if isinstance(answer, dict) else None
        if not isinstance(users, list) or not users or not isinstance(users[0], dict):
            raise OidcFailed("VK did not return a user in the userinfo request.")
        return users[0]

    def map_claims(self, user: dict[str, Any], tokens: dict[str, Any]) -> dict[str, Any]:
        return {"iss": self.user_endpoint, "sub": str(user.get("id") or ""), "given_name": user.get("first_name"),
                "family_name": user.get("last_name"), "nickname": user.get("nickname"),
                "picture": user.get("photo_200"), "email": tokens.get("email"),
                "gender": {1: "female", 2: "male"}.get(user.get("sex", 0)), "birthdate": user.get("bdate")}
