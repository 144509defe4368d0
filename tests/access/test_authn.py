"""Authenticators through the real decisions API, with real local servers as whoami, JWKS, introspection
and token endpoints. "Not responsible" passes to the next authenticator; any other failure stops."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.access.support import ALICE, FakeSessions, access_config, access_instance, rule
from tests.support.servers import serving

HEADERS = ("header", {"headers": {"X-Sub": "{{ print .Subject }}", "X-Email":
                                  "{{ print .Extra.identity.traits.email }}"}})


async def decide(api: str, path: str = "/p", **kw: Any) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.get(f"{api}/decisions{path}", **kw)


async def test_cookie_session_against_gatekeepers_own_sessions(tmp_path: Path) -> None:
    sessions = FakeSessions()
    rules = [rule("r", "http://<.*>/p", authenticators=("cookie_session",), mutators=(HEADERS,))]
    async with access_instance(access_config(tmp_path, rules), sessions) as gk:
        ok = await decide(gk.api, headers={"Cookie": "ory_kratos_session=alice-token"})
        assert ok.status_code == 200
        assert ok.headers["x-sub"] == "user-alice" and ok.headers["x-email"] == "alice@example.com"
        assert (await decide(gk.api, headers={"Cookie": "ory_kratos_session=" + "unknown"})).status_code == 401
        assert (await decide(gk.api, headers={"Cookie": 'ory_kratos_session="unterminated;;==;'})).status_code == 401
        assert (await decide(gk.api)).status_code == 401  # no cookie: not responsible -> 401
        sessions.down = True
        down = await decide(gk.api, headers={"Cookie": "ory_kratos_session=" + "alice-token"})
        assert down.status_code == 503 and "x-sub" not in down.headers  # fail closed


async def test_bearer_token_reads_authorization_or_x_session_token(tmp_path: Path) -> None:
    rules = [rule("r", "http://<.*>/p", authenticators=("bearer_token",), mutators=(HEADERS,))]
    async with access_instance(access_config(tmp_path, rules)) as gk:
        assert (await decide(gk.api, headers={"Authorization": "Bearer bob-token"})).headers["x-sub"] == "user-bob"
        assert (await decide(gk.api, headers={"X-Session-Token": "alice-token"})).headers["x-sub"] == "user-alice"
        assert (await decide(gk.api, headers={"Authorization": "Bearer nope"})).status_code == 401
        assert (await decide(gk.api, headers={"Authorization": "Basic Ym9iOng="})).status_code == 401


@pytest.fixture
async def whoami() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """A Kratos-compatible /sessions/whoami that records what it was asked."""
    seen: list[dict[str, Any]] = []

    async def handler(request: Request) -> Response:
        seen.append({"path": request.url.path, "query": request.url.query, "headers": dict(request.headers)})
        token = request.cookies.get("ory_kratos_session") or request.headers.get("x-session-token") or \
            request.headers.get("authorization", "").removeprefix("Bearer ")
        if token == "limited":
            return Response(status_code=429, headers={"Retry-After": "7", "X-Ratelimit-Limit": "10"})
        if token != "alice-token":
            return JSONResponse({"error": {"code": 401}}, status_code=401)
        return JSONResponse(ALICE)

    app = Starlette(routes=[Route("/{path:path}", handler, methods=["GET", "POST"])])
    async with serving(app) as url:
        yield url, seen


async def test_cookie_session_against_a_remote_whoami(tmp_path: Path, whoami: tuple[str, list]) -> None:
    url, seen = whoami
    rules = [rule("r", "http://<.*>/p", authenticators=(("cookie_session", {
        "check_session_url": f"{url}/sessions/whoami", "preserve_path": True, "only": ["ory_kratos_session"],
        "forward_http_headers": ["X-Tenant"], "subject_from": "identity.id", "extra_from": "@this"}),),
        mutators=(HEADERS,))]
    async with access_instance(access_config(tmp_path, rules), FakeSessions({})) as gk:
        ok = await decide(gk.api, "/p?x=1", headers={"Cookie": "ory_kratos_session=alice-token; other=1",
                                                      "X-Tenant": "acme", "X-Not-Forwarded": "1"})
        assert ok.status_code == 200 and ok.headers["x-sub"] == "user-alice"
        assert seen[-1]["path"] == "/sessions/whoami" and seen[-1]["query"] == ""  # preserve_query defaults to true
        assert seen[-1]["headers"]["x-tenant"] == "acme" and "x-not-forwarded" not in seen[-1]["headers"]
        assert (await decide(gk.api, headers={"Cookie": "ory_kratos_session=" + "bad"})).status_code == 401
        assert (await decide(gk.api, headers={"Cookie": "unrelated=x"})).status_code == 401  # not responsible
        limited = await decide(gk.api, headers={"Cookie": "ory_kratos_session=" + "limited"})
        assert limited.status_code == 429 and limited.headers["retry-after"] == "7"


async def test_remote_session_checks_default_to_oathkeepers_subject_and_extra(tmp_path: Path) -> None:
    """Against a remote check_session_url, unset subject_from/extra_from mean what they mean in Oathkeeper:
    `subject` (bearer_token: `sub`) and `extra`; against gatekeeper's own store, the identity id and the session."""
    async def check(request: Request) -> Response:
        return JSONResponse({"subject": "from-subject", "sub": "from-sub", "extra": {"role": "admin"},
                             "identity": {"id": "from-identity"}})

    headers = ("header", {"headers": {"X-Sub": "{{ print .Subject }}", "X-Role": "{{ print .Extra.role }}"}})
    async with serving(Starlette(routes=[Route("/sessions/whoami", check)])) as url:
        remote = {"check_session_url": f"{url}/sessions/whoami", "preserve_path": True}
        rules = [rule("cookie", "http://<.*>/cookie", authenticators=(("cookie_session", remote),),
                      mutators=(headers,)),
                 rule("bearer", "http://<.*>/bearer", authenticators=(("bearer_token", remote),),
                      mutators=(headers,)),
                 rule("own", "http://<.*>/own", authenticators=("cookie_session",), mutators=(HEADERS,))]
        async with access_instance(access_config(tmp_path, rules)) as gk:
            cookie = await decide(gk.api, "/cookie", headers={"Cookie": "ory_kratos_session=anything"})
            assert cookie.status_code == 200
            assert cookie.headers["x-sub"] == "from-subject" and cookie.headers["x-role"] == "admin"
            bearer = await decide(gk.api, "/bearer", headers={"Authorization": "Bearer anything"})
            assert bearer.headers["x-sub"] == "from-sub" and bearer.headers["x-role"] == "admin"
            own = await decide(gk.api, "/own", headers={"Cookie": "ory_kratos_session=alice-token"})
            assert own.headers["x-sub"] == "user-alice" and own.headers["x-email"] == "alice@example.com"


async def test_remote_session_check_replaces_the_path_unless_preserved(tmp_path: Path,
                                                                      whoami: tuple[str, list]) -> None:
    url, seen = whoami
    rules = [rule("r", "http://<.*>/app/<.*>", authenticators=(("bearer_token", {
        "check_session_url": f"{url}/sessions/whoami"}),))]
    async with access_instance(access_config(tmp_path, rules), FakeSessions({})) as gk:
        assert (await decide(gk.api, "/app/orders", headers={"Authorization": "Bearer alice-token"})).status_code \
            == 200
        assert seen[-1]["path"] == "/app/orders"  # Oathkeeper's behaviour without preserve_path


async def test_unreachable_remote_session_check_denies(tmp_path: Path) -> None:
    rules = [rule("r", "http://<.*>/p", authenticators=(("cookie_session", {
        "check_session_url": "http://127.0.0.1:9/sessions/whoami"}),))]
    async with access_instance(access_config(tmp_path, rules)) as gk:
        assert (await decide(gk.api, headers={"Cookie": "ory_kratos_session=" + "alice-token"})).status_code == 403


async def test_not_responsible_passes_on_and_errors_stop_the_chain(tmp_path: Path) -> None:
    rules = [rule("chain", "http://<.*>/p", authenticators=("bearer_token", "anonymous"),
                  mutators=(("header", {"headers": {"X-Sub": "{{ print .Subject }}"}}),)),
             rule("deny", "http://<.*>/closed", authenticators=("anonymous", "unauthorized")),
             rule("noop", "http://<.*>/open", mutators=(("header", {"headers": {"X-Sub": "[{{ print .Subject }}]"}}),))]
    async with access_instance(access_config(tmp_path, rules)) as gk:
        assert (await decide(gk.api)).headers["x-sub"] == "anonymous"
        assert (await decide(gk.api, headers={"Authorization": "Bearer bob-token"})).headers["x-sub"] == "user-bob"
        assert (await decide(gk.api, headers={"Authorization": "Bearer wrong"})).status_code == 401
        assert (await decide(gk.api, headers={"Authorization": "Basic eDp5"})).status_code == 401  # nobody's
        assert (await decide(gk.api, "/closed", headers={"Authorization": "x"})).status_code == 401
        assert (await decide(gk.api, "/open")).headers["x-sub"] == "[]"


def _keys() -> tuple[Any, Any, dict[str, Any]]:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    jwks = {"keys": [{**RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True), "kid": "rsa1", "alg": "RS256",
                      "use": "sig"},
                     {**ECAlgorithm.to_jwk(ec_key.public_key(), as_dict=True), "kid": "ec1", "alg": "ES256",
                      "use": "sig"}]}
    return rsa_key, ec_key, jwks


async def test_jwt(tmp_path: Path) -> None:
    rsa_key, ec_key, jwks = _keys()
    fetches = []
    state = {"jwks": {"keys": jwks["keys"][:1]}}

    async def serve_jwks(request: Request) -> JSONResponse:
        fetches.append(1)
        return JSONResponse(state["jwks"])

    async with serving(Starlette(routes=[Route("/jwks", serve_jwks)])) as url:
        rules = [rule("r", "http://<.*>/p", authenticators=(("jwt", {
            "jwks_urls": [f"{url}/jwks"], "allowed_algorithms": ["RS256", "ES256"],
            "trusted_issuers": ["https://issuer"], "target_audience": ["api"], "required_scope": ["read"],
            "scope_strategy": "exact"}),), mutators=(("header", {"headers": {
                "X-Sub": "{{ print .Subject }}", "X-Scope": "{{ index .Extra.scp 0 }}"}}),))]
        overrides = {"authenticators": {"jwt": {"enabled": True}}}
        now = int(time.time())
        claims = {"sub": "svc-1", "iss": "https://issuer", "aud": ["api"], "scope": "read write",
                  "exp": now + 60, "iat": now}

        def token(key: Any = rsa_key, alg: str = "RS256", kid: str = "rsa1", **changes: Any) -> str:
            return jwt.encode({**claims, **changes}, key, algorithm=alg, headers={"kid": kid})

        async with access_instance(access_config(tmp_path, rules, overrides)) as gk:
            async def status(tok: str) -> int:
                return (await decide(gk.api, headers={"Authorization": f"Bearer {tok}"})).status_code

            ok = await decide(gk.api, headers={"Authorization": f"Bearer {token()}"})
            assert ok.status_code == 200 and ok.headers["x-sub"] == "svc-1" and ok.headers["x-scope"] == "read"
            assert await status(token(exp=now - 10)) == 401
            assert await status(token(nbf=now + 600)) == 401
            assert await status(token(iat=now + 600)) == 401
            assert await status(token(iss="https://evil")) == 401
            assert await status(token(aud=["other"])) == 401
            assert await status(token(scope="write")) == 401
            assert await status(token()[:-4] + "AAAA") == 401  # signature
            none = base64.urlsafe_b64encode(json.dumps({"alg": "none", "kid": "rsa1"}).encode()).decode().rstrip("=")
            body = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
            assert await status(f"{none}.{body}.") == 401
            hs = jwt.encode(claims, "secret-secret-secret-secret-32b!", algorithm="HS256", headers={"kid": "rsa1"})
            assert await status(hs) == 401
            assert await status("not.a.jwt") == 401
            assert await status("opaque-token") == 401  # not a JWT: not responsible -> 401
            # a new key appears at the JWKS URL: an unknown kid refreshes the set once
            state["jwks"] = jwks
            assert await status(token(ec_key, "ES256", "ec1")) == 200
            assert await status(token(ec_key, "ES256", "rsa1")) == 401  # key type does not fit the algorithm


async def test_jwt_with_an_unreachable_jwks_denies(tmp_path: Path) -> None:
    rsa_key, _, _ = _keys()
    rules = [rule("r", "http://<.*>/p", authenticators=(("jwt", {"jwks_urls": ["http://127.0.0.1:9/jwks"]}),))]
    async with access_instance(access_config(tmp_path, rules, {"authenticators": {"jwt": {"enabled": True}}})) as gk:
        tok = jwt.encode({"sub": "x"}, rsa_key, algorithm="RS256", headers={"kid": "k"})
        assert (await decide(gk.api, headers={"Authorization": f"Bearer {tok}"})).status_code == 401


async def test_oauth2_introspection(tmp_path: Path) -> None:
    tokens = {
        "good": {"active": True, "sub": "user-9", "scope": "read write", "aud": ["api"], "iss": "https://h",
                 "client_id": "cli", "ext": {"tenant": "acme"}, "exp": int(time.time()) + 60},
        "inactive": {"active": False},
        "refresh": {"active": True, "token_use": "refresh_token", "sub": "x"},
        "wrong-aud": {"active": True, "sub": "x", "aud": ["other"], "scope": "read"},
    }
    calls = []

    async def introspect(request: Request) -> Response:
        if request.headers.get("authorization") != "Bearer pre-auth-token":
            return Response(status_code=401)
        form = await request.form()
        calls.append(form["token"])
        if form["token"] == "boom":
            return Response(status_code=500)
        return JSONResponse(tokens.get(str(form["token"]), {"active": False}))

    async def token(request: Request) -> Response:
        form = await request.form()
        assert form["grant_type"] == "client_credentials" and form["audience"] == "introspection"
        return JSONResponse({"access_token": "pre-auth-token", "expires_in": 3600})

    routes = [Route("/introspect", introspect, methods=["POST"]), Route("/token", token, methods=["POST"])]
    async with serving(Starlette(routes=routes)) as url:
        rules = [rule("r", "http://<.*>/p", authenticators=(("oauth2_introspection", {
            "pre_authorization": {"enabled": True, "client_id": "gk", "client_secret": "s", "token_url": f"{url}/token",
                                  "audience": "introspection"},
            "introspection_url": f"{url}/introspect", "scope_strategy": "exact", "required_scope": ["read"],
            "target_audience": ["api"], "cache": {"enabled": True, "ttl": "1m"}}),),
            mutators=(("header", {"headers": {"X-Sub": "{{ print .Subject }}",
                                              "X-Tenant": "{{ print .Extra.tenant }}"}}),))]
        overrides = {"authenticators": {"oauth2_introspection": {"enabled": True}}}
        async with access_instance(access_config(tmp_path, rules, overrides)) as gk:
            async def call(tok: str) -> httpx.Response:
                return await decide(gk.api, headers={"Authorization": f"Bearer {tok}"})

            ok = await call("good")
            assert ok.status_code == 200 and ok.headers["x-sub"] == "user-9" and ok.headers["x-tenant"] == "acme"
            await call("good")
            assert calls.count("good") == 1  # cached
            assert (await call("inactive")).status_code == 401
            assert (await call("refresh")).status_code == 403
            assert (await call("wrong-aud")).status_code == 403
            assert (await call("boom")).status_code == 500


async def test_oauth2_client_credentials(tmp_path: Path) -> None:
    async def token(request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        if auth == "Basic " + base64.b64encode(b"my-client:s3cret").decode():
            return JSONResponse({"access_token": "at", "token_type": "bearer"})
        if auth == "Basic " + base64.b64encode(b"busy:x").decode():
            return Response(status_code=503)
        return JSONResponse({"error": "invalid_client"}, status_code=401)

    async with serving(Starlette(routes=[Route("/token", token, methods=["POST"])])) as url:
        rules = [rule("r", "http://<.*>/p", authenticators=(("oauth2_client_credentials", {
            "token_url": f"{url}/token"}),), mutators=(("header", {"headers": {"X-Sub": "{{ print .Subject }}"}}),))]
        overrides = {"authenticators": {"oauth2_client_credentials": {"enabled": True}}}
        async with access_instance(access_config(tmp_path, rules, overrides)) as gk:
            def basic(user: str, password: str) -> dict[str, str]:
                return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}

            ok = await decide(gk.api, headers=basic("my-client", "s3cret"))
            assert ok.status_code == 200 and ok.headers["x-sub"] == "my-client"
            assert (await decide(gk.api, headers=basic("my-client", "wrong"))).status_code == 401
            assert (await decide(gk.api, headers=basic("busy", "x"))).status_code == 503
            assert (await decide(gk.api, headers={"Authorization": "Basic !!!"})).status_code == 401
            assert (await decide(gk.api)).status_code == 401
