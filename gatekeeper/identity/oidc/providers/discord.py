"""Discord (OAuth2 + `/users/@me`)."""

from __future__ import annotations

from typing import Any

from gatekeeper.identity.oidc.providers.oauth2 import OAuth2


class Discord(OAuth2):
    kind = "discord"
    default_scope = ("identify", "email")
    auth_endpoint = "https://discord.com/api/oauth2/authorize"
    exchange_endpoint = "https://discord.com/api/oauth2/token"
    user_endpoint = "https://discord.com/api/users/@me"
    scope_separator = " "

    def map_claims(self, user: dict[str, Any], tokens: dict[str, Any]) -> dict[str, Any]:
        avatar = user.get("avatar")
        return {"iss": "https://discord.com/api/oauth2/", "sub": str(user.get("id") or ""),
                "name": f"{user.get('username')}#{user.get('discriminator')}", "nickname": user.get("username"),
                "preferred_username": user.get("username"), "email": user.get("email"),
                "email_verified": user.get("verified") is True, "locale": user.get("locale"),
                "picture": f"https://cdn.discordapp.com/avatars/{user.get('id')}/{avatar}.png" if avatar else None}
