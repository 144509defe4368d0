"""Spotify (OAuth2 + the Web API's `/v1/me`)."""

from __future__ import annotations

from typing import Any

from gatekeeper.identity.oidc.providers.oauth2 import OAuth2


class Spotify(OAuth2):
    kind = "spotify"
    default_scope = ("user-read-email", "user-read-private")
    auth_endpoint = "https://accounts.spotify.com/authorize"
    exchange_endpoint = "https://accounts.spotify.com/api/token"
    user_endpoint = "https://api.spotify.com/v1/me"
    scope_separator = " "

    def map_claims(self, user: dict[str, Any], tokens: dict[str, Any]) -> dict[str, Any]:
        images = user.get("images") or []
        return {"iss": self.exchange_endpoint, "sub": user.get("id"), "name": user.get("display_name"),
                "nickname": user.get("display_name"), "email": user.get("email"),
                "picture": images[0].get("url") if images and isinstance(images[0], dict) else None,
                "profile": (user.get("external_urls") or {}).get("spotify"), "birthdate": user.get("birthdate")}
