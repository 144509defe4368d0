"""Kratos' session tokenizer: `GET /sessions/whoami?tokenize_as=<template>` adds `tokenized`, the session as a JWT.

Per template (`session.whoami.tokenizer.templates.<name>`): signed by the first private key of `jwks_url` (read
through the shared key cache, so a rotated set signs new tokens within a second for a file) with the `alg` the key
declares and its `kid` in the header. Claims as Kratos: `jti`, `iss` (the public base URL), `exp` (now + `ttl`,
default 1m), `sid`, `nbf`, `iat`, `sub` (identity id or `external_id`); a Jsonnet `claims_mapper_url` reads
`std.extVar('session')` and `std.extVar('claims')` and returns `{claims: {...}}`, merged over those (`sub` is set
again afterwards: a mapper cannot change it). Failures answer Kratos' 400s; a key set that cannot be read, a 500.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import jwt as pyjwt

from gatekeeper.config import Config, ConfigError, ConfigProblem
from gatekeeper.errors import BadRequest, GatekeeperError
from gatekeeper.identity.jsonnet import JsonnetError, Program
from gatekeeper.jwks import JwksCache, JwksError, JwksUnparsable, NoSigningKey, SigningKey, shown, signing_key

log = logging.getLogger("gatekeeper.identity.tokenizer")

_KEY_SCHEMES = ("file://", "base64://", "http://", "https://")


@dataclass(frozen=True)
class Template:
    """One compiled template: the key set, the token lifetime in seconds, the subject and the claims mapper."""

    jwks_url: str
    ttl: float
    subject_source: str
    mapper: Program | None


class SessionTokenizer:
    """Turns a whoami session (its JSON) into the JWT of a configured template."""

    def __init__(self, templates: dict[str, Template], jwks: JwksCache, issuer: str) -> None:
        """`issuer`: the `iss` claim (Kratos: the public base URL)."""
        self.templates, self.jwks, self.issuer = templates, jwks, issuer

    @classmethod
    async def build(cls, config: Config, jwks: JwksCache, http: httpx.AsyncClient, issuer: str) -> SessionTokenizer:
        """Every template, its mapper read once (ConfigError naming file, line and key when one cannot be)."""
        templates: dict[str, Template] = {}
        problems: list[ConfigProblem] = []
        source = config.source

        def problem(key: str, message: str) -> None:
            problems.append(ConfigProblem(source.name, source.line(key), key, message))

        for name, tpl in config.session.whoami.tokenizer.templates.items():
            at = f"session.whoami.tokenizer.templates.{name}"
            if not tpl.jwks_url.startswith(_KEY_SCHEMES):
                problem(f"{at}.jwks_url", "expected a file://, base64:// or http(s):// URL")
            mapper = None
            if tpl.claims_mapper_url:
                try:
                    mapper = await Program.load(tpl.claims_mapper_url, http)
                except ValueError as exc:
                    problem(f"{at}.claims_mapper_url", str(exc))
            templates[name] = Template(tpl.jwks_url, float(tpl.ttl), tpl.subject_source, mapper)
        if problems:
            raise ConfigError(problems)
        return cls(templates, jwks, issuer)

    async def tokenize(self, name: str, session: dict[str, Any]) -> str:
        """The JWT for `session` (whoami's JSON) under template `name`; Kratos' errors otherwise."""
        template = self.templates.get(name)
        if template is None:
            raise BadRequest(reason=f'Unable to find tokenizer template "{name}".')
        signer = await self._signer(template)
        now = int(time.time())
        claims: dict[str, Any] = {"jti": str(uuid.uuid4()), "iss": self.issuer, "exp": int(now + template.ttl),
                                  "sid": session["id"], "nbf": now, "iat": now}
        claims["sub"] = _subject(session, template.subject_source)
        if template.mapper is not None:
            claims.update(await _mapped(template.mapper, session, claims))
            claims["sub"] = _subject(session, template.subject_source)
        try:
            return pyjwt.encode(claims, signer.key, algorithm=signer.alg, headers={"kid": signer.kid})
        except (pyjwt.PyJWTError, TypeError, ValueError, NotImplementedError):
            raise BadRequest(reason="Unable to sign JSON Web Token.") from None

    async def _signer(self, template: Template) -> SigningKey:
        try:
            signer = await signing_key(self.jwks, template.jwks_url)
        except NoSigningKey:
            raise BadRequest(reason="Could not find key a suitable key for tokenization in the JWKS url.") from None
        except JwksUnparsable:
            raise BadRequest(reason="failed to parse JWK set") from None
        except JwksError as exc:
            log.error("tokenizer key set unreadable", extra={"url": shown(template.jwks_url), "error": str(exc)})
            raise GatekeeperError() from None
        if not signer.alg_declared:
            raise BadRequest(reason='The JSON Web Key must include a valid "alg" parameter but "" was given.')
        return signer


def _subject(session: dict[str, Any], source: str) -> str:
    identity = session["identity"]
    if source == "external_id":
        if not identity.get("external_id"):
            raise BadRequest(reason="The session's identity does not have an external ID set, but it is required "
                                    "for the subject claim.")
        return str(identity["external_id"])
    return str(identity["id"])


async def _mapped(mapper: Program, session: dict[str, Any], claims: dict[str, Any]) -> dict[str, Any]:
    """The `claims` object the template's Jsonnet returns."""
    try:
        out = await mapper.value(ext={"session": session, "claims": claims})
    except JsonnetError as exc:
        log.warning("tokenizer Jsonnet failed", extra={"mapper": mapper.name, "error": str(exc)})
        raise BadRequest(reason="Unable to execute tokenizer JsonNet.") from None
    mapped = out.get("claims") if isinstance(out, dict) else None
    if not isinstance(mapped, dict):
        raise BadRequest(reason="Expected tokenizer JsonNet to return a claims object but it did not.")
    return mapped
