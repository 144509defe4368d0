"""Mutators: header, cookie, id_token (+ the JWKS it publishes), hydrator, noop."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.access.support import access_config, access_instance, rule
from tests.support.servers import serving


async def decide(api: str, path: str, **kw: Any) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.get(f"{api}/decisions{path}", **kw)


async def test_header_and_cookie_mutators(tmp_path: Path) -> None:
    rules = [rule("r", "http://<.*>/<(a|b)>", authenticators=("cookie_session",), mutators=(
        ("header", {"headers": {"x-user-id": "{{ print .Subject }}",
                                "X-Part": "{{ index .MatchContext.RegexpCaptureGroups 1 }}",
                                "X-Tenant": '{{ .MatchContext.Header.Get "x-org" }}',
                                "X-Empty": "{{ print .Extra.nope }}"}}),
        ("cookie", {"cookies": {"user": "{{ print .Subject }}", "ory_kratos_session": "hidden"}}),
    ))]
    async with access_instance(access_config(tmp_path, rules)) as gk:
        ok = await decide(gk.api, "/b", headers={"Cookie": "ory_kratos_session=alice-token; theme=dark",
                                                 "X-Org": "acme", "X-Tenant": "forged"})
        assert ok.status_code == 200
        assert ok.headers["x-user-id"] == "user-alice" and ok.headers["x-part"] == "b"
        assert ok.headers["x-tenant"] == "acme" and ok.headers["x-empty"] == ""
        cookies = sorted(ok.headers["cookie"].split("; "))
        assert cookies == ["ory_kratos_session=hidden", "theme=dark", "user=user-alice"]


def _private_jwks(path: Path) -> rsa.RSAPrivateKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = {**RSAAlgorithm.to_jwk(key, as_dict=True), "kid": "gk-1", "alg": "RS256", "use": "sig"}
    path.write_text(json.dumps({"keys": [jwk]}))
    return key


async def test_id_token_is_signed_cached_and_verifiable_with_the_published_jwks(tmp_path: Path) -> None:
    keys = tmp_path / "jwks.json"
    _private_jwks(keys)
    rules = [rule("r", "http://<.*>/p", authenticators=("cookie_session",), mutators=(("id_token", {
        "claims": '{"aud": ["app"], "email": "{{ print .Extra.identity.traits.email }}", "sub": "spoofed"}'}),))]
    overrides = {"mutators": {"id_token": {"enabled": True, "config": {
        "issuer_url": "https://gatekeeper.example", "jwks_url": f"file://{keys}", "ttl": "10m"}}}}
    async with access_instance(access_config(tmp_path, rules, overrides)) as gk:
        first = await decide(gk.api, "/p", headers={"Cookie": "ory_kratos_session=alice-token",
                                                    "Authorization": "Bearer client-sent"})
        token = first.headers["authorization"].removeprefix("Bearer ")
        async with httpx.AsyncClient() as client:
            published = (await client.get(f"{gk.api}/.well-known/jwks.json")).json()
        assert [k["kid"] for k in published["keys"]] == ["gk-1"] and "d" not in published["keys"][0]
        public = jwt.PyJWK(published["keys"][0]).key
        claims = jwt.decode(token, public, algorithms=["RS256"], audience="app", issuer="https://gatekeeper.example")
        assert claims["sub"] == "user-alice" and claims["email"] == "alice@example.com"
        assert 590 <= claims["exp"] - claims["iat"] <= 600
        again = await decide(gk.api, "/p", headers={"Cookie": "ory_kratos_session=alice-token"})
        assert again.headers["authorization"] == first.headers["authorization"]  # cached per subject + claims
        other = await decide(gk.api, "/p", headers={"Cookie": "ory_kratos_session=bob-token"})
        assert other.headers["authorization"] != first.headers["authorization"]


async def test_hydrator_enriches_the_session(tmp_path: Path) -> None:
    attempts: list[int] = []

    async def hydrate(request: Request) -> Response:
        doc = await request.json()
        attempts.append(1)
        if len(attempts) == 1:
            return Response(status_code=503)  # a transient failure is retried
        if doc["subject"] == "user-bob":
            return JSONResponse({**doc, "subject": "someone-else"})
        doc["extra"]["plan"] = "gold"
        doc["header"]["X-Hydrated"] = ["yes"]
        return JSONResponse(doc)

    async with serving(Starlette(routes=[Route("/hydrate", hydrate, methods=["POST"])])) as url:
        rules = [rule("r", "http://<.*>/p", authenticators=("cookie_session",), mutators=(
            ("hydrator", {"api": {"url": f"{url}/hydrate"}}),
            ("header", {"headers": {"X-Plan": "{{ print .Extra.plan }}"}})))]
        overrides = {"mutators": {"hydrator": {"enabled": True}}}
        async with access_instance(access_config(tmp_path, rules, overrides)) as gk:
            ok = await decide(gk.api, "/p", headers={"Cookie": "ory_kratos_session=alice-token"})
            assert ok.status_code == 200 and ok.headers["x-plan"] == "gold" and ok.headers["x-hydrated"] == "yes"
            changed = await decide(gk.api, "/p", headers={"Cookie": "ory_kratos_session=bob-token"})
            assert changed.status_code == 500


async def test_hydrator_headers_cannot_inject_headers(tmp_path: Path) -> None:
    async def hydrate(request: Request) -> Response:
        doc = await request.json()
        if doc["subject"] == "user-bob":
            doc["header"]["X-Evil\r\nX-Admin"] = ["yes"]
        else:
            doc["header"]["X-Plan"] = ["gold\r\nX-Admin: yes"]
        return JSONResponse(doc)

    async with serving(Starlette(routes=[Route("/hydrate", hydrate, methods=["POST"])])) as url:
        rules = [rule("r", "http://<.*>/p", authenticators=("cookie_session",), mutators=(
            ("hydrator", {"api": {"url": f"{url}/hydrate"}}),))]
        overrides = {"mutators": {"hydrator": {"enabled": True}}}
        async with access_instance(access_config(tmp_path, rules, overrides)) as gk:
            cleaned = await decide(gk.api, "/p", headers={"Cookie": "ory_kratos_session=alice-token"})
            assert cleaned.status_code == 200 and "x-admin" not in cleaned.headers
            assert cleaned.headers["x-plan"] == "goldX-Admin: yes"
            refused = await decide(gk.api, "/p", headers={"Cookie": "ory_kratos_session=bob-token"})
            assert refused.status_code == 500 and "x-admin" not in refused.headers


async def test_noop_never_echoes_client_headers_in_decisions(tmp_path: Path) -> None:
    rules = [rule("r", "http://<.*>/p", authenticators=("anonymous",))]
    async with access_instance(access_config(tmp_path, rules)) as gk:
        answer = await decide(gk.api, "/p", headers={"X-User-Id": "forged", "Cookie": "a=b"})
        assert answer.status_code == 200
        assert "x-user-id" not in answer.headers and "cookie" not in answer.headers


async def test_header_values_cannot_inject_headers(tmp_path: Path, upstream: str) -> None:
    from tests.access.support import ALICE, FakeSessions, received_headers

    evil = {**ALICE, "identity": {**ALICE["identity"], "id": "user-evil",
                                  "traits": {"email": "a@b.c\r\nX-Admin: yes", "name": "李雷"}}}
    rules = [rule("r", "http://<[^/]+>/p", upstream=upstream, authenticators=("cookie_session",), mutators=(
        ("header", {"headers": {"X-User-Email": "{{ print .Extra.identity.traits.email }}",
                                "X-User-Name": "{{ print .Extra.identity.traits.name }}"}}),))]
    async with access_instance(access_config(tmp_path, rules), FakeSessions({"evil": evil})) as gk:
        cookie = {"Cookie": "ory_kratos_session=evil"}
        decided = await decide(gk.api, "/p", headers=cookie)
        assert decided.status_code == 200 and "x-admin" not in decided.headers
        assert decided.headers["x-user-email"] == "a@b.cX-Admin: yes"
        async with httpx.AsyncClient() as client:
            proxied = await client.get(f"{gk.proxy}/p", headers=cookie)
        got = received_headers(proxied.json())
        assert "x-admin" not in got and got["x-user-email"] == ["a@b.cX-Admin: yes"]
        assert got["x-user-name"][0].encode("latin-1").decode("utf-8") == "李雷"
