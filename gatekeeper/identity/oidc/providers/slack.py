"""Slack (Sign in with Slack, OAuth2 + `users.identity`)."""

from __future__ import annotations

from typing import Any

from gatekeeper.identity.oidc.errors import OidcFailed
from gatekeeper.identity.oidc.providers.oauth2 import OAuth2


class Slack(OAuth2):
    """Sign in with Slack (`users.identity`); Slack only returns confirmed addresses."""

    kind = "slack"
    default_scope = ("identity.basic", "identity.email", "identity.avatar")
    auth_endpoint = "https://slack.com/oauth/authorize"
    exchange_endpoint = "https://slack.com/api/oauth.access"
    user_endpoint = "https://slack.com/api/users.identity"
    scope_separator = ","

    def map_claims(self, user: dict[str, Any], tokens: dict[str, Any]) -> dict[str, Any]:
        if user.get("ok") is False:
            raise OidcFailed(f"Slack refused the users.identity request: {str(user.get('error'))[:100]}.")
        person, team = user.get("user") or {}, user.get("team") or {}
        return {"iss": "https://slack.com/oauth/", "sub": person.get("id"), "name": person.get("name"),
                "preferred_username": person.get("name"), "nickname": person.get("name"),
                "email": person.get("email"), "email_verified": True, "picture": person.get("image_512"),
                "team": team.get("id")}
