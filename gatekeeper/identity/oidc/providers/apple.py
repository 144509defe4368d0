"""Sign in with Apple (OpenID Connect). The client secret is a short-lived ES256 JWT signed with the key from
`apple_private_key` (PKCS#8 PEM; `apple_private_key_id` names it, `apple_team_id` issues it), made for each token
request as Kratos does. Asking for `email` or `name` makes Apple POST the callback (`response_mode=form_post`),
with the user's name, once, in its `user` field."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from gatekeeper.config.identity import OidcProvider
from gatekeeper.identity.oidc.errors import OidcFailed
from gatekeeper.identity.oidc.providers.base import EMPTY, Provider

APPLE = "https://appleid.apple.com"


def signing_key(pem: str) -> ec.EllipticCurvePrivateKey:
    """The Apple key from its PEM text; ValueError saying what is wrong with it."""
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        raise ValueError("is not a PEM-encoded PKCS#8 private key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("is not an elliptic-curve (ES256) key")
    return key


class Apple(Provider):
    kind = "apple"
    default_scope = ("openid", "email", "name")
    client_auth = "post"
    required = ("apple_team_id", "apple_private_key_id", "apple_private_key")

    @classmethod
    def config_problems(cls, cfg: OidcProvider) -> list[tuple[str, str]]:
        problems = super().config_problems(cfg)
        if cfg.apple_private_key:
            try:
                signing_key(cfg.apple_private_key)
            except ValueError as exc:
                problems.append(("apple_private_key", str(exc)))
        return problems

    def issuer(self) -> str:
        return (self.cfg.issuer_url or APPLE).rstrip("/")

    def client_secret(self) -> str:
        now = int(time.time())
        claims = {"iss": self.cfg.apple_team_id, "sub": self.cfg.client_id, "aud": APPLE, "iat": now,
                  "exp": now + 300}
        return jwt.encode(claims, signing_key(self.cfg.apple_private_key), algorithm="ES256",
                          headers={"kid": self.cfg.apple_private_key_id})

    def auth_params(self) -> dict[str, str]:
        return {"response_mode": "form_post"} if {"email", "name"} & set(self.scope) else {}

    def may_skip_nonce(self, claims: dict[str, Any]) -> bool:
        return claims.get("nonce_supported") is False

    async def claims(self, tokens: dict[str, Any], nonce: str, query: Mapping[str, str] = EMPTY) -> dict[str, Any]:
        claims = await super().claims(tokens, nonce, query)
        try:
            user = json.loads(query.get("user") or "{}")
        except ValueError:
            raise OidcFailed("Apple's user field is not JSON.") from None
        name = user.get("name") if isinstance(user, dict) else None
        if isinstance(name, dict):
            if isinstance(name.get("firstName"), str):
                claims.setdefault("given_name", name["firstName"])
            if isinstance(name.get("lastName"), str):
                claims.setdefault("family_name", name["lastName"])
                claims.setdefault("last_name", name["lastName"])
        return claims
