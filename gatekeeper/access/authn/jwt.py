"""`jwt`: a signed JWT checked against JWKS (`jwks_urls`), allowed algorithms (never `none`), issuers,
audience, scopes and the clock. Not responsible unless the token looks like a JWS (three parts)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jwt as pyjwt

from gatekeeper.access.authn import scopes
from gatekeeper.access.authn.tokens import TokenFrom, find_token, token_source_problems
from gatekeeper.access.handlers import AuthSession, Deps, NotResponsible
from gatekeeper.config.types import Duration
from gatekeeper.errors import Unauthorized
from gatekeeper.jwks import JwksError

SUPPORTED = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
                       "EdDSA", "HS256", "HS384", "HS512"})


@dataclass(frozen=True)
class JwtConfig:
    jwks_urls: tuple[str, ...]
    required_scope: tuple[str, ...] = ()
    target_audience: tuple[str, ...] = ()
    trusted_issuers: tuple[str, ...] = ()
    allowed_algorithms: tuple[str, ...] = ()
    scope_strategy: str = "none"
    token_from: TokenFrom | None = None
    jwks_max_wait: Duration = Duration(1.0)
    jwks_ttl: Duration = Duration(30.0)
    clock_skew: Duration = Duration(0.0)


def _deny(reason: str) -> Unauthorized:
    return Unauthorized("Access credentials are invalid", reason=reason)


class Jwt:
    def __init__(self, cfg: JwtConfig, deps: Deps) -> None:
        self.cfg, self.deps = cfg, deps
        self.algorithms = frozenset(cfg.allowed_algorithms or ("RS256",))

    @staticmethod
    def problems(cfg: JwtConfig) -> list[tuple[str, str]]:
        out = []
        if not cfg.jwks_urls:
            out.append(("jwks_urls", "needs at least one URL"))
        if bad := [a for a in cfg.allowed_algorithms if a not in SUPPORTED]:
            out.append(("allowed_algorithms", f"unsupported algorithm(s) {', '.join(bad)} (never 'none')"))
        return out + scopes.config_problems(cfg.scope_strategy) + token_source_problems(cfg.token_from)

    async def authenticate(self, session: AuthSession) -> None:
        token = find_token(session.view, self.cfg.token_from)
        if not token or token.count(".") != 2:
            raise NotResponsible
        try:
            header = pyjwt.get_unverified_header(token)
        except pyjwt.PyJWTError:
            raise _deny("the JWT header is malformed") from None
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in self.algorithms:
            raise _deny(f"the JWT algorithm {alg!r} is not allowed")
        if not isinstance(kid, str) or not kid:
            raise _deny("the JWT has no kid header")
        try:
            key = await self.deps.jwks.key(self.cfg.jwks_urls, kid, ttl=float(self.cfg.jwks_ttl))
        except JwksError as exc:
            raise _deny(f"the signing keys could not be fetched: {exc}") from None
        if key is None:
            raise _deny("the JWT's kid is not in the key set")
        cfg = self.cfg
        try:
            claims = pyjwt.decode(
                token, key.key, algorithms=[alg], leeway=float(cfg.clock_skew),
                audience=None, issuer=None,
                options={"verify_aud": False, "verify_iss": False, "require": [], "verify_iat": True},
            )
        except (pyjwt.PyJWTError, ValueError, TypeError) as exc:
            raise _deny(f"the JWT is not valid: {type(exc).__name__}") from None
        if key.algorithm_name and key.algorithm_name != alg and not _family_fits(alg, key.algorithm_name):
            raise _deny("the key type does not fit the JWT algorithm")
        self._check_claims(claims)
        session.subject = str(claims.get("sub", ""))
        session.extra = claims

    def _check_claims(self, claims: dict[str, Any]) -> None:
        cfg = self.cfg
        if cfg.trusted_issuers and claims.get("iss") not in cfg.trusted_issuers:
            raise _deny("the JWT issuer is not trusted")
        aud = claims.get("aud", [])
        aud = [aud] if isinstance(aud, str) else list(aud or [])
        if missing := [a for a in cfg.target_audience if a not in aud]:
            raise _deny(f"the JWT audience lacks {', '.join(missing)}")
        granted = scopes.scopes_of(claims)
        if reason := scopes.check(cfg.scope_strategy, granted, cfg.required_scope):
            raise _deny(reason)


def _family_fits(alg: str, key_alg: str) -> bool:
    return alg[:2] == key_alg[:2] or {alg[:2], key_alg[:2]} <= {"RS", "PS"}
