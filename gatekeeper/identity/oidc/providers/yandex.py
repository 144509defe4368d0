"""Yandex ID (OAuth2 + `login.yandex.ru/info`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from gatekeeper.identity.oidc.providers.oauth2 import OAuth2


class Yandex(OAuth2):
    kind = "yandex"
    default_scope = ("login:email", "login:info", "login:avatar")
    auth_endpoint = "https://oauth.yandex.com/authorize"
    exchange_endpoint = "https://oauth.yandex.com/token"
    user_endpoint = "https://login.yandex.ru/info"

    async def fetch_user(self, tokens: dict[str, Any]) -> Any:
        url = f"{await self.endpoint('userinfo_endpoint')}?format=json&oauth_token={quote(str(tokens['access_token']))}"
        return await self._get_json(url, "info")

    def map_claims(self, user: dict[str, Any], tokens: dict[str, Any]) -> dict[str, Any]:
        avatar = user.get("default_avatar_id")
        picture = f"https://avatars.yandex.net/get-yapic/{avatar}/islands-200" \
            if avatar and not user.get("is_avatar_empty") else None
        return {"iss": self.user_endpoint, "sub": user.get("id"), "given_name": user.get("first_name"),
                "family_name": user.get("last_name"), "picture": picture, "email": user.get("default_email"),
                "gender": user.get("sex"), "birthdate": user.get("birthday")}
