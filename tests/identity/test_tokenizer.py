"""`GET /sessions/whoami?tokenize_as=<template>` as Kratos' session tokenizer: the official SDK receives `tokenized`,
a JWT that verifies against the template's key set; claims from a Jsonnet mapper; `external_id` as subject; Kratos'
errors; the template's ttl; a rotated key file signs new tokens with its new first key."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
import ory_kratos_client as k
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from gatekeeper.config import ConfigError
from gatekeeper.identity.tokenizer import SessionTokenizer
from gatekeeper.jwks import JwksCache
from tests.identity.conftest import PASSWORD, call, frontend, identity_config, register_api, started

MAPPER = """
local session = std.extVar('session');
local claims = std.extVar('claims');
{
  claims: {
    email: session.identity.traits.email,
    aal: session.authenticator_assurance_level,
    exp_seen: claims.exp,
    sub: 'a mapper cannot change the subject',
  },
}
"""


def private_jwk(kid: str, *, alg: str | None = "ES256") -> tuple[dict[str, Any], Any]:
    """A private JWK (EC P-256, or RSA for RS256) and its public key, for PyJWT."""
    if alg == "RS256":
        rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return {**RSAAlgorithm.to_jwk(rsa_key, as_dict=True), "kid": kid, "alg": alg}, rsa_key.public_key()
    ec_key = ec.generate_private_key(ec.SECP256R1())
    jwk = {**ECAlgorithm.to_jwk(ec_key, as_dict=True), "kid": kid}
    return ({**jwk, "alg": alg} if alg else jwk), ec_key.public_key()


def write_keys(path: Path, *keys: dict[str, Any]) -> None:
    path.write_text(json.dumps({"keys": list(keys)}))


def templates(key_file: Path, **extra: dict[str, Any]) -> dict[str, Any]:
    plain = {"jwks_url": f"file://{key_file}"}
    return {"session": {"whoami": {"tokenizer": {"templates": {"plain": plain, **extra}}}}}


def verify(token: str, public_key: Any, **options: Any) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, public_key, algorithms=["ES256", "RS256"], options=options)
    return claims


async def test_the_sdk_receives_the_session_as_a_jwt_signed_by_the_first_key(dsn: str, tmp_path: Path) -> None:
    first, public = private_jwk("key-1")
    second, _ = private_jwk("key-2")
    write_keys(tmp_path / "keys.json", first, second)
    async with started(dsn, templates(tmp_path / "keys.json")) as gk:
        token = (await register_api(gk, "jwt@example.org"))["session_token"]
        session = await call(frontend(gk).to_session, x_session_token=token, tokenize_as="plain")
        again = await call(frontend(gk).to_session, x_session_token=token, tokenize_as="plain")
        plain = await call(frontend(gk).to_session, x_session_token=token)
        async with httpx.AsyncClient() as http:  # the proxy's same-origin whoami answers it too
            proxied = await http.get(f"{gk.proxy}/.auth/sessions/whoami", params={"tokenize_as": "plain"},
                                     headers={"X-Session-Token": token})
    assert plain.tokenized is None
    assert jwt.get_unverified_header(session.tokenized) == {"alg": "ES256", "kid": "key-1", "typ": "JWT"}
    claims = verify(session.tokenized, public)
    assert claims["sub"] == session.identity.id and claims["sid"] == session.id
    assert claims["iss"] == gk.public + "/"
    assert claims["exp"] - claims["iat"] == 60 and claims["nbf"] == claims["iat"]  # Kratos' default ttl: 1m
    assert set(claims) == {"jti", "iss", "exp", "sid", "nbf", "iat", "sub"}
    assert verify(again.tokenized, public)["jti"] != claims["jti"]  # signed anew on every call, as Kratos
    assert proxied.status_code == 200 and verify(proxied.json()["tokenized"], public)["sid"] == session.id


async def test_a_jsonnet_mapper_adds_claims_from_the_session_but_cannot_change_the_subject(
        dsn: str, tmp_path: Path) -> None:
    key, public = private_jwk("rsa-1", alg="RS256")
    write_keys(tmp_path / "keys.json", key)
    (tmp_path / "claims.jsonnet").write_text(MAPPER)
    mapped = {"jwks_url": f"file://{tmp_path / 'keys.json'}", "claims_mapper_url": f"file://{tmp_path}/claims.jsonnet",
              "ttl": "10m"}
    async with started(dsn, templates(tmp_path / "keys.json", mapped=mapped)) as gk:
        token = (await register_api(gk, "mapped@example.org"))["session_token"]
        session = await call(frontend(gk).to_session, x_session_token=token, tokenize_as="mapped")
    assert jwt.get_unverified_header(session.tokenized)["alg"] == "RS256"
    claims = verify(session.tokenized, public)
    assert claims["email"] == "mapped@example.org" and claims["aal"] == "aal1"
    assert claims["exp_seen"] == claims["exp"] == claims["iat"] + 600
    assert claims["sub"] == session.identity.id


async def test_external_id_is_the_subject_when_the_template_says_so(dsn: str, tmp_path: Path) -> None:
    key, public = private_jwk("key-1")
    write_keys(tmp_path / "keys.json", key)
    external = {"jwks_url": f"file://{tmp_path / 'keys.json'}", "subject_source": "external_id"}
    async with started(dsn, templates(tmp_path / "keys.json", external=external)) as gk:
        async with httpx.AsyncClient() as http:
            created = await http.post(f"{gk.admin}/admin/identities", json={
                "schema_id": "default", "traits": {"email": "ext@example.org"}, "external_id": "crm-4711",
                "credentials": {"password": {"config": {"password": PASSWORD}}}})
            assert created.status_code == 201, created.text
            flow = (await http.get(f"{gk.public}/self-service/login/api")).json()
            login = await http.post(f"{gk.public}/self-service/login?flow={flow['id']}", json={
                "method": "password", "identifier": "ext@example.org", "password": PASSWORD})
        with_external = await call(frontend(gk).to_session, x_session_token=login.json()["session_token"],
                                   tokenize_as="external")
        without = (await register_api(gk, "no-ext@example.org"))["session_token"]
        with pytest.raises(k.exceptions.BadRequestException) as refused:
            await call(frontend(gk).to_session, x_session_token=without, tokenize_as="external")
    assert verify(with_external.tokenized, public)["sub"] == "crm-4711"
    assert json.loads(refused.value.body)["error"]["reason"] == \
        "The session's identity does not have an external ID set, but it is required for the subject claim."


async def test_a_token_expires_after_the_templates_ttl(start: Callable[..., Any], tmp_path: Path) -> None:
    key, public = private_jwk("key-1")
    write_keys(tmp_path / "keys.json", key)
    short = {"jwks_url": f"file://{tmp_path / 'keys.json'}", "ttl": "1s"}
    async with start(templates(tmp_path / "keys.json", short=short)) as gk:
        token = (await register_api(gk, "short@example.org"))["session_token"]
        tokenized = (await call(frontend(gk).to_session, x_session_token=token, tokenize_as="short")).tokenized
    claims = verify(tokenized, public, verify_exp=False)  # the signature holds; a loaded machine may be past exp
    assert claims["exp"] - claims["iat"] == 1
    await asyncio.sleep(max(0.0, claims["exp"] - time.time()) + 1.1)
    with pytest.raises(jwt.ExpiredSignatureError):
        verify(tokenized, public)


async def test_a_rotated_key_file_signs_new_tokens_with_its_new_first_key(
        start: Callable[..., Any], tmp_path: Path) -> None:
    old, old_public = private_jwk("old")
    new, new_public = private_jwk("new")
    write_keys(tmp_path / "keys.json", old)
    async with start(templates(tmp_path / "keys.json")) as gk:
        token = (await register_api(gk, "rotate@example.org"))["session_token"]
        before = (await call(frontend(gk).to_session, x_session_token=token, tokenize_as="plain")).tokenized
        write_keys(tmp_path / "keys.json", new, old)  # the new key first; the old one still published
        await asyncio.sleep(1.2)  # a file:// key set is re-read after a second, as for the id_token mutator
        after = (await call(frontend(gk).to_session, x_session_token=token, tokenize_as="plain")).tokenized
    assert jwt.get_unverified_header(before)["kid"] == "old" and verify(before, old_public)
    assert jwt.get_unverified_header(after)["kid"] == "new" and verify(after, new_public)
    with pytest.raises(jwt.InvalidSignatureError):
        verify(after, old_public)


def _error_templates(tmp_path: Path) -> dict[str, Any]:
    good, _ = private_jwk("good")
    no_alg, _ = private_jwk("no-alg", alg=None)
    public_only = {k: v for k, v in good.items() if k != "d"}
    write_keys(tmp_path / "keys.json", good)
    write_keys(tmp_path / "no-alg.json", no_alg)
    write_keys(tmp_path / "public.json", public_only)
    (tmp_path / "broken.json").write_text('{"keys": [')
    (tmp_path / "fails.jsonnet").write_text("error 'no claims for you'")
    (tmp_path / "no-claims.jsonnet").write_text("{foo: 'bar'}")
    url = f"file://{tmp_path}"
    return {
        "missing-file": {"jwks_url": f"{url}/absent.json"},
        "broken": {"jwks_url": f"{url}/broken.json"},
        "public-only": {"jwks_url": f"{url}/public.json"},
        "no-alg": {"jwks_url": f"{url}/no-alg.json"},
        "fails": {"jwks_url": f"{url}/keys.json", "claims_mapper_url": f"{url}/fails.jsonnet"},
        "no-claims": {"jwks_url": f"{url}/keys.json", "claims_mapper_url": f"{url}/no-claims.jsonnet"},
        "inline": {"jwks_url": "base64://" + base64.b64encode(b'{"keys": []}').decode()},
    }


async def test_failures_answer_kratos_errors_and_leak_no_key(start: Callable[..., Any], tmp_path: Path) -> None:
    async with start(templates(tmp_path / "keys.json", **_error_templates(tmp_path))) as gk:
        token = (await register_api(gk, "errors@example.org"))["session_token"]
        async with httpx.AsyncClient(base_url=gk.public, headers={"X-Session-Token": token}) as http:
            answers = {name: await http.get("/sessions/whoami", params={"tokenize_as": name})
                       for name in ("nope", "missing-file", "broken", "public-only", "no-alg", "fails", "no-claims",
                                    "inline")}
    bad_request = "The request was malformed or contained invalid parameters"
    expected = {
        "nope": (400, 'Unable to find tokenizer template "nope".'),
        "missing-file": (500, None),
        "broken": (400, "failed to parse JWK set"),
        "public-only": (400, "Could not find key a suitable key for tokenization in the JWKS url."),
        "no-alg": (400, 'The JSON Web Key must include a valid "alg" parameter but "" was given.'),
        "fails": (400, "Unable to execute tokenizer JsonNet."),
        "no-claims": (400, "Expected tokenizer JsonNet to return a claims object but it did not."),
        "inline": (400, "Could not find key a suitable key for tokenization in the JWKS url."),
    }
    for name, (status, reason) in expected.items():
        answer = answers[name]
        assert answer.status_code == status, (name, answer.text)
        error = answer.json()["error"]
        assert error["code"] == status and error.get("reason") == reason, name
        assert error["message"] == (bad_request if status == 400 else
                                    "An internal server error occurred, please contact the system administrator")
        assert str(tmp_path) not in answer.text and "tokenized" not in answer.text


async def test_a_mapper_that_cannot_be_read_is_a_config_problem_naming_the_key(tmp_path: Path) -> None:
    key, _ = private_jwk("k")
    write_keys(tmp_path / "keys.json", key)
    broken = {"jwks_url": "ftp://keys.example/jwks.json", "claims_mapper_url": f"file://{tmp_path}/absent.jsonnet"}
    config = identity_config("memory", templates(tmp_path / "keys.json", broken=broken))
    async with httpx.AsyncClient() as http:
        with pytest.raises(ConfigError) as problems:
            await SessionTokenizer.build(config, JwksCache(http), http, issuer="http://gk.test/")
    text = str(problems.value)
    assert "test-config.yaml:" in text
    assert "session.whoami.tokenizer.templates.broken.claims_mapper_url: cannot read" in text
    assert "session.whoami.tokenizer.templates.broken.jwks_url: expected a file://, base64:// or http(s):// URL" \
        in text


def test_an_unknown_subject_source_is_a_config_problem(tmp_path: Path) -> None:
    bad = {"jwks_url": "file:///keys.json", "subject_source": "email"}
    with pytest.raises(ConfigError) as problems:
        identity_config("memory", templates(tmp_path / "keys.json", bad=bad))
    assert "session.whoami.tokenizer.templates.bad.subject_source: expected one of 'id', 'external_id'" \
        in str(problems.value)

