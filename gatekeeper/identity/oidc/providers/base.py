"""The shared base and the `generic` OpenID Connect provider (discovery from `issuer_url`): the authorization URL
(state, nonce, PKCE challenge), the code exchange (with the PKCE verifier), id_token verification (signature,
issuer, audience, expiry, nonce) and Kratos' claims shape. Provider modules state only what differs."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar
from urllib.parse import urlencode

import httpx

from gatekeeper.config.identity import OidcProvider
from gatekeeper.identity.oidc.errors import OidcFailed, ProviderUnavailable
from gatekeeper.identity.oidc.jwks import KeySet, unverified_claims, verify

EMPTY: Mapping[str, str] = MappingProxyType({})
DISCOVERY_TTL = 3600.0
UPSTREAM_PARAMETERS = ("hd", "prompt", "auth_type", "acr_values")  # Kratos' allow-list
STANDARD_CLAIMS = ("iss", "sub", "aud", "name", "given_name", "family_name", "last_name", "middle_name", "nickname",
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
    userinfo_claims: ClassVar[bool] = False  # claims from the userinfo endpoint too, whatever claims_source says
    client_auth: ClassVar[str] = "basic"  # how the token endpoint gets the client: "basic" or "post" (form)

    required: ClassVar[tuple[str, ...]] = ("issuer_url",)  # config keys this provider cannot work without

    @classmethod
    def config_problems(cls, cfg: OidcProvider) -> list[tuple[str, str]]:
        """(key, message) for each provider-specific key that is missing or unusable."""
        problems = [(key, f"is required for the {cls.kind} provider") for key in cls.required if not getattr(cfg, key)]
        if cfg.rp_initiated_logout and not cls.oidc:
            problems.append(("rp_initiated_logout", f"needs an OpenID Connect provider; {cls.kind} is not one"))
        return problems

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
        params.update(self.auth_params())
        if self.cfg.requested_claims:
            params["claims"] = json.dumps(dict(self.cfg.requested_claims), separators=(",", ":"))
        url = await self.endpoint("authorization_endpoint", self.cfg.auth_url)
        return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"

    def client_secret(self) -> str:
        return self.cfg.client_secret

    def auth_params(self) -> dict[str, str]:
        """What this provider adds to the authorization URL."""
        return {}

    def exchange_params(self) -> dict[str, str]:
        """What this provider adds to the code exchange's token request."""
        return {}

    async def exchange(self, code: str, verifier: str | None, query: Mapping[str, str] = EMPTY) -> dict[str, Any]:
        """The provider's tokens for the callback's `code` (`query`: the rest of the callback)."""
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri}
        if verifier:
            data["code_verifier"] = verifier
        return await self.token_request({**data, **self.exchange_params()})

    async def token_request(self, data: dict[str, str]) -> dict[str, Any]:
        """POST to the token endpoint with the client's credentials (code exchange and refresh)."""
        auth: tuple[str, str] | None = None
        if self.client_auth == "post":
            data = {**data, "client_id": self.cfg.client_id, "client_secret": self.client_secret()}
        else:
            auth = (self.cfg.client_id, self.client_secret())
        url = await self.endpoint("token_endpoint", self.cfg.token_url)
        try:
            resp = await self.http.post(url, data=data, auth=auth or httpx.USE_CLIENT_DEFAULT,
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
        if not raw.get("nonce") and self.may_skip_nonce(raw):
            return kratos_claims(raw)
        if not raw.get("nonce"):
            raise OidcFailed("No nonce was included in the id_token but is required by the provider")
        if not nonce:
            raise OidcFailed("No nonce was provided but is required by the provider")
        if raw["nonce"] != nonce:
            raise OidcFailed("The supplied nonce does not match the nonce from the id_token")
        return kratos_claims(raw)

    async def claims(self, tokens: dict[str, Any], nonce: str, query: Mapping[str, str] = EMPTY) -> dict[str, Any]:
        """The verified id_token's claims (and userinfo's, when configured): Kratos' claims shape. `query`: what
        the provider sent to the callback besides the code (Apple's `user`)."""
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise OidcFailed("The provider did not return an ID token.")
        raw = await self.verified(id_token)
        if "nonce" not in raw and not self.may_skip_nonce(raw):
            raise OidcFailed("The ID token carries no nonce, so it cannot be tied to this sign-in.")
        if "nonce" in raw and raw["nonce"] != nonce:
            raise OidcFailed("The nonce in the ID token does not match the nonce of this sign-in.")
        from_userinfo = self.userinfo_claims or self.cfg.claims_source == "userinfo"
        if from_userinfo or self.cfg.subject_source == "userinfo":
            info = await self.userinfo(str(tokens["access_token"]))
            if info.get("sub") != raw["sub"]:
                raise OidcFailed("The userinfo subject does not match the ID token's subject.")
            raw = {**raw, **info} if from_userinfo else raw
        return kratos_claims(raw)

    async def end_session_url(self, id_token_hint: str | None, post_logout_redirect_uri: str) -> str | None:
        """OpenID Connect RP-initiated logout: the provider's `end_session_endpoint` for this user (None when its
        discovery document names none)."""
        endpoint = (await self.discovery()).get("end_session_endpoint")
        if not isinstance(endpoint, str) or not endpoint:
            return None
        params = {"client_id": self.cfg.client_id, "post_logout_redirect_uri": post_logout_redirect_uri}
        if id_token_hint:
            params["id_token_hint"] = id_token_hint
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(params)}"

    def may_skip_nonce(self, claims: dict[str, Any]) -> bool:
        """Whether an id_token without a nonce is acceptable (Apple, on devices that cannot send one)."""
        return False

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

    async def _get_json(self, url: str, what: str, token: str | None = None, accept: str = "application/json",
                        headers: Mapping[str, str] = EMPTY) -> Any:
        sent = {"Accept": accept, **headers}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        try:
            resp = await self.http.get(url, headers=sent, timeout=10)
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
