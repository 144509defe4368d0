"""A provider's signing keys (JWKS), fetched with the shared HTTP client and re-read when a token names a key
we do not know (rotation), at most every REFETCH_AFTER seconds. ID token verification uses PyJWT."""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt

from gatekeeper.identity.oidc.errors import OidcFailed, ProviderUnavailable

ALLOWED_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
REFETCH_AFTER = 2.0  # an unknown key id re-reads the set at most this often (id_tokens come from anyone)


class KeySet:
    def __init__(self, provider_id: str, url: str, http: httpx.AsyncClient) -> None:
        self.provider_id, self.url, self.http = provider_id, url, http
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched = 0.0

    async def _refresh(self) -> None:
        try:
            resp = await self.http.get(self.url, timeout=10)
            resp.raise_for_status()
            keys = jwt.PyJWKSet.from_dict(resp.json()).keys
        except (httpx.HTTPError, ValueError):
            raise ProviderUnavailable(self.provider_id, "JSON Web Key Set") from None
        except jwt.PyJWTError:
            raise OidcFailed("The provider's JSON Web Key Set contains no usable key.") from None
        self._keys = {str(k.key_id or i): k for i, k in enumerate(keys)}
        self._fetched = time.monotonic()

    async def key_for(self, token: str) -> tuple[jwt.PyJWK, str]:
        """The key that signed `token` and the (allowed) algorithm its header names."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise OidcFailed("The ID token is not a valid JSON Web Token.") from None
        if header.get("alg") not in ALLOWED_ALGORITHMS:
            raise OidcFailed(f"The ID token is signed with an algorithm that is not allowed: {header.get('alg')!r}.")
        kid = header.get("kid")
        for attempt in range(2):
            if not self._keys or (attempt and time.monotonic() - self._fetched > REFETCH_AFTER):
                await self._refresh()
            if kid is not None and str(kid) in self._keys:
                return self._keys[str(kid)], header["alg"]
            if kid is None and len(self._keys) == 1:
                return next(iter(self._keys.values())), header["alg"]
        raise OidcFailed("The ID token was signed by a key the provider does not publish.")


def unverified_claims(token: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
        return claims
    except jwt.PyJWTError:
        raise OidcFailed("The ID token is not a valid JSON Web Token.") from None


def verify(token: str, key: jwt.PyJWK, alg: str, *, audiences: list[str], issuer: str) -> dict[str, Any]:
    """Signature, `iss`, `aud`, `exp`, `iat` (and `sub` present); OidcFailed saying what was wrong."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token, key=key.key, algorithms=[alg],
            audience=audiences, issuer=issuer, leeway=30,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]})
    except jwt.InvalidSignatureError:
        raise OidcFailed("The ID token signature is invalid.") from None
    except jwt.ExpiredSignatureError:
        raise OidcFailed("The ID token has expired.") from None
    except jwt.InvalidAudienceError:
        raise OidcFailed("The ID token was not issued for this client (audience mismatch).") from None
    except jwt.InvalidIssuerError:
        raise OidcFailed("The ID token was issued by an unexpected issuer.") from None
    except jwt.PyJWTError as exc:
        raise OidcFailed(f"The ID token is invalid: {exc}.") from None
    return claims
