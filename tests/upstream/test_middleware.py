"""gatekeeper.upstream: an app behind gatekeeper verifies the id_token against gatekeeper's real JWKS."""

from __future__ import annotations

import json
import threading
import wsgiref.simple_server
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gatekeeper.upstream import GatekeeperMiddleware, GatekeeperWSGIMiddleware
from tests.access.support import access_config, access_instance, rule
from tests.support.servers import serving


def _keys(path: Path, kid: str) -> rsa.RSAPrivateKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_text(json.dumps({"keys": [{**RSAAlgorithm.to_jwk(key, as_dict=True), "kid": kid, "alg": "RS256"}]}))
    return key


@pytest.fixture
def wsgi_server() -> Iterator[Any]:
    servers = []

    def start(app: Any) -> str:
        server = wsgiref.simple_server.make_server("127.0.0.1", 0, app,
                                                   handler_class=_QuietHandler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


class _QuietHandler(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


async def test_asgi_and_wsgi_apps_behind_gatekeeper_see_the_verified_identity(tmp_path: Path, wsgi_server: Any) -> None:
    keys = tmp_path / "jwks.json"
    _keys(keys, "k1")

    async def whoami(request: Request) -> JSONResponse:
        identity = request.scope["gatekeeper.identity"]
        return JSONResponse({"subject": identity.subject, "email": identity.claims.get("email")})

    def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        identity = environ["gatekeeper.identity"]
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"subject": identity.subject}).encode()]

    overrides = {"mutators": {"id_token": {"enabled": True, "config": {
        "issuer_url": "https://gk.example", "jwks_url": f"file://{keys}",
        "claims": '{"aud": ["app"], "email": "{{ print .Extra.identity.traits.email }}"}'}}}}
    asgi_holder: dict[str, Any] = {}

    async def asgi_entry(scope: Any, receive: Any, send: Any) -> None:
        await asgi_holder["app"](scope, receive, send)

    wsgi_holder: dict[str, Any] = {}

    def wsgi_entry(environ: Any, start_response: Any) -> Any:
        return wsgi_holder["app"](environ, start_response)

    wsgi_url = wsgi_server(wsgi_entry)
    async with serving(asgi_entry) as asgi_url:
        rules = [rule("asgi", "http://<[^/]+>/asgi/<.*>", upstream=asgi_url, authenticators=("cookie_session",),
                      mutators=("id_token",)),
                 rule("wsgi", "http://<[^/]+>/wsgi/<.*>", upstream=wsgi_url, authenticators=("cookie_session",),
                      mutators=("id_token",))]
        async with access_instance(access_config(tmp_path, rules, overrides)) as gk:
            jwks_url = f"{gk.api}/.well-known/jwks.json"
            asgi_holder["app"] = GatekeeperMiddleware(Starlette(routes=[Route("/{p:path}", whoami)]),
                                                      jwks_url=jwks_url, issuer="https://gk.example", audience="app",
                                                      min_refresh=0)
            wsgi_holder["app"] = GatekeeperWSGIMiddleware(wsgi_app, jwks_url=jwks_url, issuer="https://gk.example",
                                                          audience="app")
            async with httpx.AsyncClient() as client:
                alice = {"Cookie": "ory_kratos_session=alice-token"}
                r = await client.get(f"{gk.proxy}/asgi/me", headers=alice)
                assert r.json() == {"subject": "user-alice", "email": "alice@example.com"}
                r = await client.get(f"{gk.proxy}/wsgi/me", headers=alice)
                assert r.json() == {"subject": "user-alice"}
                # called directly (bypassing gatekeeper) with a forged token: refused
                forged = jwt.encode({"sub": "root", "aud": "app", "iss": "https://gk.example", "exp": 2**31,
                                     "iat": 0}, rsa.generate_private_key(public_exponent=65537, key_size=2048),
                                    algorithm="RS256", headers={"kid": "k1"})
                for url in (asgi_url, wsgi_url):
                    assert (await client.get(f"{url}/asgi/me")).status_code == 401
                    bad = await client.get(f"{url}/asgi/me", headers={"Authorization": f"Bearer {forged}"})
                    assert bad.status_code == 401
                # gatekeeper rotates to a new key (old one still published): an unknown kid refreshes the keys
                old = json.loads(keys.read_text())["keys"]
                _keys(keys, "k2")
                keys.write_text(json.dumps({"keys": json.loads(keys.read_text())["keys"] + old}))
                gk.container.access.repository.deps.jwks._entries.clear()  # skip gatekeeper's 30 s key cache
                r = await client.get(f"{gk.proxy}/asgi/me", headers={"Cookie": "ory_kratos_session=bob-token"})
                assert r.json() == {"subject": "user-bob", "email": "bob@example.com"}
                assert set(asgi_holder["app"].verifier._keys) == {"k1", "k2"}
