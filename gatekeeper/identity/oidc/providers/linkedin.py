"""LinkedIn (OAuth2 + the v2 REST API)."""

from __future__ import annotations

from typing import Any

from gatekeeper.identity.oidc.providers.oauth2 import OAuth2


class LinkedIn(OAuth2):
    """LinkedIn's v2 REST API (`/v2/me` and `/v2/emailAddress`); Kratos' `linkedin`."""

    kind = "linkedin"
    default_scope = ("r_liteprofile", "r_emailaddress")
    auth_endpoint = "https://www.linkedin.com/oauth/v2/authorization"
    exchange_endpoint = "https://www.linkedin.com/oauth/v2/accessToken"
    user_endpoint = "https://api.linkedin.com/v2/me?projection=(id,localizedFirstName,localizedLastName," \
                    "profilePicture(displayImage~digitalmediaAsset:playableStreams))"
    EMAIL = "https://api.linkedin.com/v2/emailAddress?q=members&projection=(elements*(handle~))"
    client_auth = "post"

    async def fetch_user(self, tokens: dict[str, Any]) -> Any:
        profile = await super().fetch_user(tokens)
        email = await self._get_json(self.moved(self.EMAIL), "emailAddress", token=str(tokens["access_token"]))
        return {**profile, "emailAddress": email} if isinstance(profile, dict) else profile

    def map_claims(self, user: dict[str, Any], tokens: dict[str, Any]) -> dict[str, Any]:
        elements = (user.get("emailAddress") or {}).get("elements") or [{}]
        images = (((user.get("profilePicture") or {}).get("displayImage~") or {}).get("elements")) or []
        chosen = images[min(len(images), 3) - 1] if images else {}
        picture = ((chosen.get("identifiers") or [{}])[0]).get("identifier")
        return {"iss": "https://login.linkedin.com/", "sub": user.get("id"),
                "email": (elements[0].get("handle~") or {}).get("emailAddress"),
                "given_name": user.get("localizedFirstName"), "last_name": user.get("localizedLastName"),
                "picture": picture}
