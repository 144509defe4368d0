"""Login with Amazon (OAuth2 + `/user/profile`); Kratos accepts only Amazon's profile scopes."""

from __future__ import annotations

from typing import Any

from gatekeeper.config.identity import OidcProvider
from gatekeeper.identity.oidc.providers.oauth2 import OAuth2

SCOPES = ("profile", "profile:user_id", "postal_code")


class Amazon(OAuth2):
    kind = "amazon"
    default_scope = ("profile",)
    auth_endpoint = "https://www.amazon.com/ap/oa"
    exchange_endpoint = "https://api.amazon.com/auth/o2/token"
    user_endpoint = "https://api.amazon.com/user/profile"

    @classmethod
    def config_problems(cls, cfg: OidcProvider) -> list[tuple[str, str]]:
        unsupported = [s for s in cfg.scope if s not in SCOPES]
        return [("scope", f"scope {', '.join(unsupported)} not supported; Amazon supports {', '.join(SCOPES)}")] \
            if unsupported else super().config_problems(cfg)

    def map_claims(self, user: dict[str, Any], tokens: dict[str, Any]) -> dict[str, Any]:
        return {"iss": self.exchange_endpoint, "sub": user.get("user_id"), "name": user.get("name"),
                "email": user.get("email")}
