"""X (Twitter): OAuth 1.0a, as Kratos' `x` provider. Going to X first fetches a request token (signed with the
consumer key and secret, `client_id` / `client_secret`), whose callback carries the sealed state; the callback's
`oauth_token` and `oauth_verifier` buy the access token; `verify_credentials` (with the e-mail when `email` is
in `scope`) names the user. Requests are signed with HMAC-SHA1 (RFC 5849)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import httpx

from gatekeeper.identity.oidc.errors import OidcFailed, ProviderUnavailable
from gatekeeper.identity.oidc.providers.base import EMPTY
from gatekeeper.identity.oidc.providers.oauth2 import OAuth2

API = "https://api.twitter.com"


def _enc(value: str) -> str:
    return quote(value, safe="-._~")


def signature(method: str, url: str, params: Mapping[str, str], consumer_secret: str, token_secret: str) -> str:
    """RFC 5849 section 3.4: the HMAC-SHA1 signature of a request (`params`: oauth_*, query and form)."""
    parts = urlsplit(url)
    all_params = [*params.items(), *parse_qsl(parts.query, keep_blank_values=True)]
    normalized = "&".join(f"{k}={v}" for k, v in sorted((_enc(k), _enc(v)) for k, v in all_params))
    base_url = f"{parts.scheme}://{parts.netloc.lower()}{parts.path}"
    base = "&".join((method.upper(), _enc(base_url), _enc(normalized)))
    key = f"{_enc(consumer_secret)}&{_enc(token_secret)}"
    return base64.b64encode(hmac.new(key.encode(), base.encode(), hashlib.sha1).digest()).decode()


class X(OAuth2):
    kind = "x"
    auth_endpoint = f"{API}/oauth/authenticate"
    exchange_endpoint = f"{API}/oauth/access_token"
    user_endpoint = f"{API}/1.1/account/verify_credentials.json"
    REQUEST_TOKEN = f"{API}/oauth/request_token"

    async def uses_pkce(self) -> bool:
        return False

    def _authorization(self, method: str, url: str, token: str = "", token_secret: str = "",
                       **extra: str) -> str:
        oauth = {"oauth_consumer_key": self.cfg.client_id, "oauth_nonce": secrets.token_hex(16),
                 "oauth_signature_method": "HMAC-SHA1", "oauth_timestamp": str(int(time.time())),
                 "oauth_version": "1.0", **extra}
        if token:
            oauth["oauth_token"] = token
        oauth["oauth_signature"] = signature(method, url, oauth, self.client_secret(), token_secret)
        return "OAuth " + ", ".join(f'{_enc(k)}="{_enc(v)}"' for k, v in sorted(oauth.items()))

    async def _signed_post(self, url: str, what: str, token: str = "", token_secret: str = "",
                           **extra: str) -> dict[str, str]:
        try:
            resp = await self.http.post(url, timeout=10, headers={
                "Authorization": self._authorization("POST", url, token, token_secret, **extra)})
        except httpx.HTTPError:
            raise ProviderUnavailable(self.id, what) from None
        if resp.status_code >= 500:
            raise ProviderUnavailable(self.id, what)
        answer = dict(parse_qsl(resp.text))
        if resp.status_code != 200 or not answer.get("oauth_token"):
            raise OidcFailed(f"X refused the {what} request (HTTP {resp.status_code}).")
        return answer

    async def auth_url(self, state: str, nonce: str, challenge: str | None,
                       upstream: dict[str, str] | None = None) -> str:
        callback = f"{self.redirect_uri}?{urlencode({'state': state, 'code': 'unused'})}"
        answer = await self._signed_post(self.moved(self.REQUEST_TOKEN), "request token", oauth_callback=callback)
        url = await self.endpoint("authorization_endpoint", self.cfg.auth_url)
        return f"{url}?{urlencode({'oauth_token': answer['oauth_token']})}"

    async def exchange(self, code: str, verifier: str | None, query: Mapping[str, str] = EMPTY) -> dict[str, Any]:
        if query.get("denied"):
            raise OidcFailed("Unable to complete OpenID Connect flow because the user denied the request at X.")
        token, oauth_verifier = query.get("oauth_token", ""), query.get("oauth_verifier", "")
        if not token or not oauth_verifier:
            raise OidcFailed("X did not return oauth_token and oauth_verifier to the callback.")
        answer = await self._signed_post(await self.endpoint("token_endpoint", self.cfg.token_url), "access token",
                                         token, oauth_verifier=oauth_verifier)
        return {"access_token": answer["oauth_token"], "access_token_secret": answer.get("oauth_token_secret", "")}

    async def fetch_user(self, tokens: dict[str, Any]) -> Any:
        url = await self.endpoint("userinfo_endpoint")
        if "email" in self.scope:
            url += "?include_email=true"
        header = self._authorization("GET", url, str(tokens["access_token"]), str(tokens["access_token_secret"]))
        return await self._get_json(url, "verify_credentials", headers={"Authorization": header})

    def map_claims(self, user: dict[str, Any], tokens: dict[str, Any]) -> dict[str, Any]:
        return {"iss": self.user_endpoint, "sub": user.get("id_str"), "name": user.get("name"),
                "picture": user.get("profile_image_url_https"), "email": user.get("email"),
                "preferred_username": user.get("screen_name"), "website": user.get("url")}
