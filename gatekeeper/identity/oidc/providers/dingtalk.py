"""DingTalk (OAuth2 with a JSON token request)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from gatekeeper.identity.oidc.errors import OidcFailed, ProviderUnavailable
from gatekeeper.identity.oidc.providers.base import EMPTY
from gatekeeper.identity.oidc.providers.oauth2 import OAuth2


class DingTalk(OAuth2):
    """DingTalk: a JSON token request (`clientId`, `clientSecret`, `code`), the token in its own header."""

    kind = "dingtalk"
    default_scope = ("openid",)
    auth_endpoint = "https://login.dingtalk.com/oauth2/auth"
    exchange_endpoint = "https://api.dingtalk.com/v1.0/oauth2/userAccessToken"
    user_endpoint = "https://api.dingtalk.com/v1.0/contact/users/me"

    async def exchange(self, code: str, verifier: str | None, query: Mapping[str, str] = EMPTY) -> dict[str, Any]:
        body = {"clientId": self.cfg.client_id, "clientSecret": self.client_secret(), "code": code,
                "grantType": "authorization_code"}
        try:
            resp = await self.http.post(await self.endpoint("token_endpoint", self.cfg.token_url), json=body,
                                        timeout=10)
        except httpx.HTTPError:
            raise ProviderUnavailable(self.id, "token") from None
        answer = resp.json() if resp.headers.get("content-type", "").startswith("application/json") else {}
        if resp.status_code >= 500:
            raise ProviderUnavailable(self.id, "token")
        if resp.status_code != 200 or not isinstance(answer, dict) or not answer.get("accessToken"):
            message = answer.get("message") if isinstance(answer, dict) else None
            raise OidcFailed("Unable to exchange the authorization code for a token"
                             + (f": the provider answered {str(message)[:100]!r}." if message else "."))
        return {"access_token": answer["accessToken"], "expires_in": answer.get("expireIn"),
                "refresh_token": answer.get("refreshToken")}

    async def fetch_user(self, tokens: dict[str, Any]) -> Any:
        return await self._get_json(await self.endpoint("userinfo_endpoint"), "users/me",
                                    headers={"x-acs-dingtalk-access-token": str(tokens["access_token"])})

    def map_claims(self, user: dict[str, Any], tokens: dict[str, Any]) -> dict[str, Any]:
        return {"iss": self.user_endpoint, "sub": user.get("openId"), "nickname": user.get("nick"),
                "name": user.get("nick"), "picture": user.get("avatarUrl"), "email": user.get("email")}
