"""`id_token`: a signed JWT for the upstream (`Authorization: Bearer ...`), keys from a private JWKS
(`jwks_url`: file, http(s) or base64), claims from a template, cached per subject + claims + signing key until
10% of its ttl is left. The public half of the keys is served at `:4456/.well-known/jwks.json`.

Key rotation (docs/operations.md): the FIRST private key of the set signs, every key is published. Add the new
key at the end, wait until verifiers' key caches have it, then move it first; drop the old key once the tokens it
signed have expired. A `file://` set is re-read every second, so every replica follows the shared file."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt as pyjwt
from cachetools import TTLCache

from gatekeeper.access.handlers import AuthSession, Deps
from gatekeeper.access.template import TemplateError, compile_template
from gatekeeper.config.types import Duration
from gatekeeper.errors import GatekeeperError
from gatekeeper.jwks import JwksError, signing_key


@dataclass(frozen=True)
class IdTokenConfig:
    issuer_url: str
    jwks_url: str
    ttl: Duration = Duration(900.0)
    claims: str = ""


class IdToken:
    sets_headers = ("Authorization",)

    def __init__(self, cfg: IdTokenConfig, deps: Deps) -> None:
        self.cfg, self.deps = cfg, deps
        self.claims = compile_template(cfg.claims) if cfg.claims else None
        self.ttl = float(cfg.ttl) or 900.0
        self.cache: TTLCache[tuple[str, str, str], tuple[str, float]] = TTLCache(maxsize=10_000, ttl=self.ttl)

    @staticmethod
    def problems(cfg: IdTokenConfig) -> list[tuple[str, str]]:
        out = []
        if not cfg.issuer_url:
            out.append(("issuer_url", "is required"))
        if not cfg.jwks_url:
            out.append(("jwks_url", "is required"))
        if cfg.claims:
            try:
                compile_template(cfg.claims)
            except TemplateError as exc:
                out.append(("claims", str(exc)))
        return out

    async def mutate(self, session: AuthSession) -> None:
        extra_claims = self._claims(session)
        try:  # first: a rotated key set (another key first) must not keep handing out tokens of the old key
            signer = await signing_key(self.deps.jwks, self.cfg.jwks_url)
        except JwksError as exc:
            raise GatekeeperError(reason=f"id_token signing keys: {exc}") from None
        key = (session.subject, json.dumps(extra_claims, sort_keys=True), signer.kid)
        now = time.time()
        cached = self.cache.get(key)
        if cached and cached[1] - now > self.ttl * 0.1:
            session.header["Authorization"] = f"Bearer {cached[0]}"
            return
        exp = now + self.ttl
        claims = {**extra_claims, "exp": int(exp), "iat": int(now), "nbf": int(now), "jti": str(uuid.uuid4()),
                  "iss": self.cfg.issuer_url, "sub": session.subject}
        token = pyjwt.encode(claims, signer.key, algorithm=signer.alg, headers={"kid": signer.kid})
        self.cache[key] = (token, exp)
        session.header["Authorization"] = f"Bearer {token}"

    def _claims(self, session: AuthSession) -> dict[str, Any]:
        if self.claims is None:
            return {}
        try:
            value = json.loads(self.claims.render(session.template_data()))
        except (TemplateError, ValueError) as exc:
            raise GatekeeperError(reason=f"id_token claims are not a JSON object: {exc}") from None
        if not isinstance(value, dict):
            raise GatekeeperError(reason="id_token claims are not a JSON object")
        return value

