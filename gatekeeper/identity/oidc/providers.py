"""Providers: `generic` OpenID Connect (discovery from `issuer_url`), `gitlab`, `google`, `microsoft` (Entra ID
tenants) and `github` (OAuth2 + GitHub's REST API). Each builds the authorization URL, exchanges the code
(with the PKCE verifier) and returns verified claims. Registered by name in PROVIDERS."""

from __future__ import annotations

import json
import time
from typing import Any, ClassVar
from urllib.parse import urlencode

import httpx

from gatekeeper.config.identity import OidcProvider
from gatekeeper.identity.oidc.errors import OidcFailed, ProviderUnavailable
from gatekeeper.identity.oidc.jwks import KeySet, unverified_claims, verify

DISCOVERY_TTL = 3600.0
UPSTREAM_PARAMETERS = ("hd", "prompt", "auth_type", "acr_values")  # Kratos' allow-list
STANDARD_CLAIMS = ("iss", "sub", "aud", "name", "given_name", "family_name", "middle_name", "nickname",
                   "preferred_username", "profile", "picture", "website", "email", "email_verified", "gender",
                   "birthdate", "zoneinfo", "locale", "phone_number", "phone_number_verified", "updated_at", "hd",
                   "team")


def kratos_claims(raw: dict[str, Any]) -> dict[str, Any]:
    """The shape Kratos hands to mappers: standard claims at the top, everything under `raw_claims`."""
    out = {k: raw[k] for k in STANDARD_CLAIMS if k in raw}
    out["raw_claims"] = raw
    return out


class Provider:
    """Generic OpenID Connect: discovery, authorization code + PKCE (when offered), verified id_token."""

    kind: ClassVar[str] = "generic"
    default_scope: ClassVar[tuple[str, ...]] = ("openid",)
    oidc: ClassVar[bool] = True  # an id_token (and so a nonce) is part of the answer

    def __init__(self, cfg: OidcProvider, http: httpx.AsyncClient, redirect_uri: str) -> None:
        self.cfg, self.http, self.redirect_uri = cfg, http, redirect_uri
        self._discovery: dict[str, Any] | None = None
        self._discovered_at = 0.0
        self._keys: KeySet | None = None

    @property
    def id(self) -> str:
        return self.cfg.id

    @property
    def label(self) -> str:
        return self.cfg.label or self.cfg.id

    @property
    def scope(self) -> tuple[str, ...]:
        scope = self.cfg.scope or self.default_scope
        return scope if not self.oidc or "openid" in scope else ("openid", *scope)  # Kratos adds it too

    # -- discovery --------------------------------------------------------------------------------------

    def issuer(self) -> str:
        return self.cfg.issuer_url.rstrip("/")

    def discovery_url(self) -> str:
        return f"{self.issuer()}/.well-known/openid-configuration"

    async def discovery(self) -> dict[str, Any]:
        if self._discovery is None or time.monotonic() - self._discovered_at > DISCOVERY_TTL:
            doc = await self._get_json(self.discovery_url(), "discovery")
            if not isinstance(doc, dict) or not isinstance(doc.get("issuer"), str):
                raise ProviderUnavailable(self.id, "discovery")
            self._check_discovered_issuer(doc["issuer"])
            self._discovery, self._discovered_at = doc, time.monotonic()
            if isinstance(doc.get("jwks_uri"), str):
                self._keys = KeySet(self.id, doc["jwks_uri"], self.http)
        return self._discovery

    def _check_discovered_issuer(self, issuer: str) -> None:
        if issuer.rstrip("/") != self.issuer():
            raise OidcFailed(f"The provider's discovery document names issuer {issuer!r}, not the configured "
                             f"issuer_url {self.issuer()!r}.")

    async def endpoint(self, name: str, override: str = "") -> str:
        if override:
            return override
        value = (await self.discovery()).get(name)
        if not isinstance(value, str) or not value:
            raise OidcFailed(f"The provider's discovery document has no {name}.")
        return value

    async def uses_pkce(self) -> bool:
        if self.cfg.pkce != "auto":
            return self.cfg.pkce == "force"
        if not self.oidc:
            return False
        methods = (await self.discovery()).get("code_challenge_methods_supported") or []
        return isinstance(methods, list) and "S256" in methods

    # -- the dance ----------------------------------------------------------------------------------------

    async def auth_url(self, state: str, nonce: str, challenge: str | None,
                       upstream: dict[str, str] | None = None) -> str:
        """`upstream`: the client's `upstream_parameters`, of which only Kratos' allowed ones pass."""
        params: dict[str, str] = {k: v for k, v in (upstream or {}).items() if k in UPSTREAM_PARAMETERS}
        params.update(client_id=self.cfg.client_id, response_type="code", redirect_uri=self.redirect_uri,
                      scope=" ".join(self.scope), state=state)
        if self.oidc:
            params["nonce"] = nonce
        if challenge:
            params.update(code_challenge=challenge, code_challenge_method="S256")
        if self.cfg.requested_claims:
            params["claims"] = json.dumps(dict(self.cfg.requested_claims), separators=(",", ":"))
        url = await self.endpoint("authorization_endpoint", self.cfg.auth_url)
        return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"

    async def exchange(self, code: str, verifier: str | None) -> dict[str, Any]:
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri}
        if verifier:
            data["code_verifier"] = verifier
        url = await self.endpoint("token_endpoint", self.cfg.token_url)
        try:
            resp = await self.http.post(url, data=data, auth=(self.cfg.client_id, self.cfg.client_secret),
                                        headers={"Accept": "application/json"}, timeout=10)
        except httpx.HTTPError:
            raise ProviderUnavailable(self.id, "token") from None
        return self._token_answer(resp)

    def _token_answer(self, resp: httpx.Response) -> dict[str, Any]:
        if resp.status_code >= 500:
            raise ProviderUnavailable(self.id, "token")
        try:
            body = resp.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or resp.status_code != 200 or "error" in body \
                or not isinstance(body.get("access_token"), str):
            error = body.get("error") if isinstance(body, dict) else None
            raise OidcFailed("Unable to exchange the authorization code for a token"
                             + (f": the provider answered {str(error)[:100]!r}." if error else "."))
        return body

    async def verified(self, id_token: str) -> dict[str, Any]:
        """The id_token's claims after checking signature (provider JWKS), `iss`, `aud`, `exp` and the provider's
        own rules; the nonce is the caller's to check."""
        await self.discovery()
        if self._keys is None:
            raise OidcFailed("The provider's discovery document has no jwks_uri.")
        key, alg = await self._keys.key_for(id_token)
        raw = verify(id_token, key, alg, audiences=[self.cfg.client_id, *self.cfg.additional_id_token_audiences],
                     issuer=self.expected_issuer(unverified_claims(id_token)))
        self.check_claims(raw)
        return raw

    async def claims_from_id_token(self, id_token: str, nonce: str | None) -> dict[str, Any]:
        """A native app's id_token (Kratos' `id_token` + `id_token_nonce` submission)."""
        raw = await self.verified(id_token)
        if not raw.get("nonce"):
            raise OidcFailed("No nonce was included in the id_token but is required by the provider")
        if not nonce:
            raise OidcFailed("No nonce was provided but is required by the provider")
        if raw["nonce"] != nonce:
            raise OidcFailed("The supplied nonce does not match the nonce from the id_token")
        return kratos_claims(raw)

    async def claims(self, tokens: dict[str, Any], nonce: str) -> dict[str, Any]:
        """The verified id_token's claims (and userinfo's, when configured): Kratos' claims shape."""
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise OidcFailed("The provider did not return an ID token.")
        raw = await self.verified(id_token)
        if "nonce" not in raw:
            raise OidcFailed("The ID token carries no nonce, so it cannot be tied to this sign-in.")
        if raw["nonce"] != nonce:
            raise OidcFailed("The nonce in the ID token does not match the nonce of this sign-in.")
        if self.cfg.claims_source == "userinfo" or self.cfg.subject_source == "userinfo":
            info = await self.userinfo(str(tokens["access_token"]))
            if info.get("sub") != raw["sub"]:
                raise OidcFailed("The userinfo subject does not match the ID token's subject.")
            raw = {**raw, **info} if self.cfg.claims_source == "userinfo" else raw
        return kratos_claims(raw)

    def expected_issuer(self, unverified: dict[str, Any]) -> str:
        return str((self._discovery or {}).get("issuer") or self.issuer())

    def check_claims(self, claims: dict[str, Any]) -> None:
        """Provider-specific rules on verified claims (Microsoft's tenants)."""

    async def userinfo(self, access_token: str) -> dict[str, Any]:
        url = await self.endpoint("userinfo_endpoint")
        info = await self._get_json(url, "userinfo", token=access_token)
        if not isinstance(info, dict):
            raise OidcFailed("The provider's userinfo answer is not a JSON object.")
        return info

    async def _get_json(self, url: str, what: str, token: str | None = None, accept: str = "application/json") -> Any:
        headers = {"Accept": accept}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            resp = await self.http.get(url, headers=headers, timeout=10)
        except httpx.HTTPError:
            raise ProviderUnavailable(self.id, what) from None
        if resp.status_code >= 500:
            raise ProviderUnavailable(self.id, what)
        if resp.status_code != 200:
            raise OidcFailed(f"The provider refused the {what} request (HTTP {resp.status_code}).")
        try:
            return resp.json()
        except ValueError:
            raise OidcFailed(f"The provider's {what} answer is not JSON.") from None


class GitLab(Provider):
    """GitLab is an OpenID Connect provider; `issuer_url` points at a self-hosted instance."""

    kind = "gitlab"
    default_scope = ("openid", "email", "profile")

    def issuer(self) -> str:
        return (self.cfg.issuer_url or "https://gitlab.com").rstrip("/")


class Google(Provider):
    kind = "google"
    default_scope = ("openid", "email", "profile")

    def issuer(self) -> str:
        return (self.cfg.issuer_url or "https://accounts.google.com").rstrip("/")

    def expected_issuer(self, unverified: dict[str, Any]) -> str:
        # Google documents both forms of its issuer; accept the bare one only from Google itself
        if not self.cfg.issuer_url and unverified.get("iss") == "accounts.google.com":
            return "accounts.google.com"
        return super().expected_issuer(unverified)


CONSUMER_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"  # personal Microsoft accounts


class Microsoft(Provider):
    """Entra ID: `microsoft_tenant` is `common`, `organizations`, `consumers` or a tenant id/domain.

    The multi-tenant discovery documents name the issuer `https://login.microsoftonline.com/{tenantid}/v2.0`;
    a token's `iss` must be that template filled with the token's own `tid` claim."""

    kind = "microsoft"
    default_scope = ("openid", "email", "profile")

    def issuer(self) -> str:
        base = (self.cfg.issuer_url or "https://login.microsoftonline.com").rstrip("/")
        return f"{base}/{self.cfg.microsoft_tenant}/v2.0"

    def _check_discovered_issuer(self, issuer: str) -> None:
        """The tenant's own discovery names its tenant id, not the configured alias: no comparison."""

    def expected_issuer(self, unverified: dict[str, Any]) -> str:
        template = super().expected_issuer(unverified)
        if "{tenantid}" not in template:
            return template
        tid = unverified.get("tid")
        if not isinstance(tid, str) or not tid or "/" in tid or "{" in tid:
            raise OidcFailed("The ID token has no usable tid (tenant) claim.")
        return template.replace("{tenantid}", tid)

    def check_claims(self, claims: dict[str, Any]) -> None:
        tenant, tid = self.cfg.microsoft_tenant, claims.get("tid")
        if tenant == "organizations" and tid == CONSUMER_TENANT:
            raise OidcFailed("Personal Microsoft accounts may not sign in here (microsoft_tenant: organizations).")
        if tenant == "consumers" and tid != CONSUMER_TENANT:
            raise OidcFailed("Only personal Microsoft accounts may sign in here (microsoft_tenant: consumers).")


class GitHub(Provider):
    """OAuth2 (no id_token): the user from `GET /user`, the e-mail only if GitHub says it is primary and verified."""

    kind = "github"
    default_scope = ("user:email",)
    oidc = False

    def api(self) -> str:
        return (self.cfg.issuer_url or "https://api.github.com").rstrip("/")

    async def endpoint(self, name: str, override: str = "") -> str:
        defaults = {"authorization_endpoint": "https://github.com/login/oauth/authorize",
                    "token_endpoint": "https://github.com/login/oauth/access_token"}
        return override or defaults[name]

    async def uses_pkce(self) -> bool:
        return self.cfg.pkce == "force"

    async def exchange(self, code: str, verifier: str | None) -> dict[str, Any]:
        data = {"client_id": self.cfg.client_id, "client_secret": self.cfg.client_secret, "code": code,
                "redirect_uri": self.redirect_uri}
        if verifier:
            data["code_verifier"] = verifier
        try:
            resp = await self.http.post(await self.endpoint("token_endpoint", self.cfg.token_url), data=data,
                                        headers={"Accept": "application/json"}, timeout=10)
        except httpx.HTTPError:
            raise ProviderUnavailable(self.id, "token") from None
        return self._token_answer(resp)

    async def claims_from_id_token(self, id_token: str, nonce: str | None) -> dict[str, Any]:
        raise OidcFailed(f"The provider {self.kind} does not support id_token verification")

    async def claims(self, tokens: dict[str, Any], nonce: str) -> dict[str, Any]:
        token = str(tokens["access_token"])
        user = await self._get_json(f"{self.api()}/user", "user", token=token, accept="application/vnd.github+json")
        if not isinstance(user, dict) or user.get("id") is None:
            raise OidcFailed("GitHub's user answer has no id.")
        raw: dict[str, Any] = {"iss": self.api(), "sub": str(user["id"]), "name": user.get("name"),
                               "nickname": user.get("login"), "preferred_username": user.get("login"),
                               "picture": user.get("avatar_url"), "profile": user.get("html_url"),
                               "website": user.get("blog")}
        if any(s in ("user", "user:email") for s in self.scope):
            emails = await self._get_json(f"{self.api()}/user/emails", "user/emails", token=token,
                                          accept="application/vnd.github+json")
            for entry in emails if isinstance(emails, list) else []:
                if isinstance(entry, dict) and entry.get("primary") is True and entry.get("verified") is True \
                        and isinstance(entry.get("email"), str):
                    raw.update(email=entry["email"], email_verified=True)
                    break
        return kratos_claims({k: v for k, v in raw.items() if v not in (None, "")})


PROVIDERS: dict[str, type[Provider]] = {cls.kind: cls for cls in (Provider, GitLab, Google, Microsoft, GitHub)}
