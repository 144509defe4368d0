"""Plain OAuth2 (no id_token, no discovery): the shared base of providers that are not OpenID Connect, and the
`oauth2` provider itself, configured with `auth_url`, `token_url` and `userinfo_url`.

A provider module states its three endpoints, default scopes and `map_claims` (the user answer -> standard
claim names); the base does state and PKCE (when `pkce: force`), the code exchange and the user request.
`issuer_url` moves a provider's fixed endpoints to another origin (a proxy, or a stand-in in tests): the path
stays. Kratos' claims shape results, with the provider's whole user answer under `raw_claims`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

from gatekeeper.identity.oidc.errors import OidcFailed
from gatekeeper.identity.oidc.providers.base import EMPTY, Provider, kratos_claims


class OAuth2(Provider):
    required: ClassVar[tuple[str, ...]] = ()
    default_scope: ClassVar[tuple[str, ...]] = ()
    oidc = False
    auth_endpoint: ClassVar[str] = ""
    exchange_endpoint: ClassVar[str] = ""
    user_endpoint: ClassVar[str] = ""
    scope_separator: ClassVar[str] = ""  # when set: the token answer's `scope` must grant every configured scope

    def moved(self, url: str) -> str:
        """`url` on `issuer_url`'s origin (and under its path) when one is configured."""
        if not self.cfg.issuer_url or not url:
            return url
        parts = urlsplit(url)
        return self.cfg.issuer_url.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")

    async def endpoint(self, name: str, override: str = "") -> str:
        fixed = {"authorization_endpoint": self.auth_endpoint, "token_endpoint": self.exchange_endpoint,
                 "userinfo_endpoint": self.user_endpoint}[name]
        url = override or self.moved(fixed)
        if not url:
            raise OidcFailed(f"The {self.kind} provider {self.id!r} has no {name} configured.")
        return url

    async def uses_pkce(self) -> bool:
        return self.cfg.pkce == "force"

    async def claims_from_id_token(self, id_token: str, nonce: str | None) -> dict[str, Any]:
        raise OidcFailed(f"The provider {self.kind} does not support id_token verification")

    async def claims(self, tokens: dict[str, Any], nonce: str, query: Mapping[str, str] = EMPTY) -> dict[str, Any]:
        self.check_granted(tokens)
        user = await self.fetch_user(tokens)
        if not isinstance(user, dict):
            raise OidcFailed(f"The provider's user answer is not a JSON object ({self.kind}).")
        mapped = {k: v for k, v in self.map_claims(user, tokens).items() if v not in (None, "")}
        if not isinstance(mapped.get("sub"), str) or not mapped["sub"]:
            raise OidcFailed("The provider did not name the subject (sub) of this sign-in.")
        claims = kratos_claims(mapped)
        claims["raw_claims"] = user
        return claims

    def check_granted(self, tokens: dict[str, Any]) -> None:
        """Kratos' check for providers that say which scopes the user granted."""
        if not self.scope_separator:
            return
        granted = str(tokens.get("scope") or "").split(self.scope_separator)
        if any(s not in granted for s in self.cfg.scope):
            raise OidcFailed("Unable to finish because one or more permissions were not granted. Please retry and "
                             "accept all permissions.")

    async def fetch_user(self, tokens: dict[str, Any]) -> Any:
        """The provider's user answer (a GET with the access token; modules override the request)."""
        return await self._get_json(await self.endpoint("userinfo_endpoint", self.cfg.userinfo_url), "userinfo",
                                    token=str(tokens["access_token"]))

    def map_claims(self, user: dict[str, Any], tokens: dict[str, Any]) -> dict[str, Any]:
        """Standard claim names (`sub` at least) from the provider's user answer."""
        raise NotImplementedError


class GenericOAuth2(OAuth2):
    """gatekeeper's `oauth2`: the user answer's own claim names, its `id` as `sub` when it has no `sub`."""

    kind = "oauth2"
    required = ("auth_url", "token_url", "userinfo_url")

    def map_claims(self, user: dict[str, Any], tokens: dict[str, Any]) -> dict[str, Any]:
        sub = user.get("sub", user.get("id"))
        return {**user, "sub": None if sub is None else str(sub), "iss": self.cfg.auth_url}
