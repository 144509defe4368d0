"""Lark / Feishu (OAuth2 + its userinfo endpoint)."""

from __future__ import annotations

from typing import Any

from gatekeeper.identity.oidc.providers.oauth2 import OAuth2


class Lark(OAuth2):
    kind = "lark"
    auth_endpoint = "https://passport.feishu.cn/suite/passport/oauth/authorize"
    exchange_endpoint = "https://passport.feishu.cn/suite/passport/oauth/token"
    user_endpoint = "https://passport.feishu.cn/suite/passport/oauth/userinfo"
    client_auth = "post"

    def map_claims(self, user: dict[str, Any], tokens: dict[str, Any]) -> dict[str, Any]:
        return {"iss": self.user_endpoint, "sub": user.get("open_id"), "name": user.get("name"),
                "nickname": user.get("name"), "picture": user.get("avatar_url"), "email": user.get("email"),
                "phone_number": user.get("mobile")}
