"""id_token keys from one shared JWKS file: every replica signs with the same set, and the documented rotation
(publish the new key last, wait a verifier cache period, move it first, later drop the old one) never produces a
token a verifier cannot check."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from gatekeeper.upstream import IdentityVerifier
from tests.access.support import access_config, access_instance, rule

CACHE_PERIOD = 1.5  # how long our strict verifier keeps a fetched key set (it never re-fetches on an unknown kid)


def new_key(kid: str) -> dict[str, Any]:
    key = ec.generate_private_key(ec.SECP256R1())
    return {**ECAlgorithm.to_jwk(key, as_dict=True), "kid": kid, "alg": "ES256", "use": "sig"}


def write(path: Path, *keys: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"keys": list(keys)}))
    tmp.replace(path)  # atomic, as a Kubernetes Secret volume swaps its files


class StrictVerifier:
    """A verifier that caches the published keys for CACHE_PERIOD and knows nothing else."""

    def __init__(self, jwks_url: str) -> None:
        self.url, self.keys, self.fetched = jwks_url, {}, float("-inf")
        self.verified: list[str] = []
        self.failures: list[str] = []

    async def verify(self, c: httpx.AsyncClient, token: str) -> None:
        if time.monotonic() - self.fetched > CACHE_PERIOD:
            doc = (await c.get(self.url)).json()
            self.keys = {k["kid"]: jwt.PyJWK(k) for k in doc["keys"]}
            self.fetched = time.monotonic()
        kid = jwt.get_unverified_header(token)["kid"]
        try:
            jwt.decode(token, self.keys[kid].key, algorithms=["ES256"], issuer="https://gatekeeper.example")
            self.verified.append(kid)
        except (KeyError, jwt.PyJWTError) as exc:
            self.failures.append(f"{kid}: {type(exc).__name__}")


async def test_replicas_sign_with_the_shared_keys_and_rotation_never_fails_a_verification(tmp_path: Path) -> None:
    keys = tmp_path / "jwks.json"
    old, new = new_key("k-old"), new_key("k-new")
    write(keys, old)
    rules = [rule("r", "http://<.*>/p", authenticators=("cookie_session",), mutators=(("id_token", {}),))]
    overrides = {"mutators": {"id_token": {"enabled": True, "config": {
        "issuer_url": "https://gatekeeper.example", "jwks_url": f"file://{keys}", "ttl": "10m"}}}}
    config = access_config(tmp_path, rules, overrides)
    async with access_instance(config) as a, access_instance(config) as b, httpx.AsyncClient() as c:
        verifier = StrictVerifier(f"{a.api}/.well-known/jwks.json")
        signed: dict[str, set[str]] = {"a": set(), "b": set()}
        stop = asyncio.Event()

        async def traffic() -> None:
            while not stop.is_set():
                for name, gk in (("a", a), ("b", b)):
                    for who in ("alice", "bob"):
                        resp = await c.get(f"{gk.api}/decisions/p",
                                           headers={"Cookie": f"ory_kratos_session={who}-token"})
                        assert resp.status_code == 200
                        token = resp.headers["authorization"].removeprefix("Bearer ")
                        signed[name].add(jwt.get_unverified_header(token)["kid"])
                        await verifier.verify(c, token)
                await asyncio.sleep(0.02)

        running = asyncio.create_task(traffic())
        try:
            await asyncio.sleep(0.5)
            assert signed == {"a": {"k-old"}, "b": {"k-old"}}
            write(keys, old, new)  # 1. publish the new key (last: not used yet)
            await asyncio.sleep(1.2)  # every replica re-reads the file within a second
            published = (await c.get(f"{b.api}/.well-known/jwks.json")).json()["keys"]
            assert [k["kid"] for k in published] == ["k-old", "k-new"] and all("d" not in k for k in published)
            assert signed == {"a": {"k-old"}, "b": {"k-old"}}
            await asyncio.sleep(CACHE_PERIOD + 0.5)  # 2. wait one verifier cache period...
            write(keys, new, old)  # ...then use it: both replicas switch, cached tokens of the old key included
            await asyncio.sleep(1.5)
            before = len(verifier.verified)
            await asyncio.sleep(0.5)
            assert set(verifier.verified[before:]) == {"k-new"}
            write(keys, new)  # 3. drop the old key (once its tokens have expired)
            await asyncio.sleep(CACHE_PERIOD + 1.0)
        finally:
            stop.set()
            await running
        assert verifier.failures == []
        assert signed == {"a": {"k-old", "k-new"}, "b": {"k-old", "k-new"}}
        token = (await c.get(f"{b.api}/decisions/p", headers={"Cookie": "ory_kratos_session=alice-token"})
                 ).headers["authorization"].removeprefix("Bearer ")
        upstream_side = IdentityVerifier(f"{a.api}/.well-known/jwks.json", issuer="https://gatekeeper.example",
                                         algorithms=("ES256",))
        assert (await upstream_side.averify(token)).subject == "user-alice"  # what gatekeeper.upstream apps run
