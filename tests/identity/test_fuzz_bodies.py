"""Property tests on a running gatekeeper (SQLite, real store): whatever body, content type or flow id a client
sends to a self-service or admin endpoint, the answer is never a 5xx; a JSON 4xx is Kratos-shaped (the error
envelope, or a flow with its ui) and no answer carries a stack trace.

Bounded to run in seconds; `FUZZ_EXAMPLES=2000 pytest tests/identity/test_fuzz_bodies.py` runs them longer."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.identity.conftest import PASSWORD, started
from tests.support.oidc_provider import CLIENT_ID, CLIENT_SECRET, OidcProvider
from tests.support.servers import Instance, serving

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large, HealthCheck.filter_too_much])
EMAIL = "fuzz@example.com"
MAPPER = "local c = std.extVar('claims'); {identity: {traits: {email: c.email}}}"
JSON_TYPE = {"Content-Type": "application/json", "Accept": "application/json"}


def overrides(idp: OidcProvider) -> dict[str, Any]:
    """Every method gatekeeper implements, recovery and verification on; settings at aal1 (a fuzzed second
    factor must not lock the session out of the settings flow)."""
    provider = {"id": "idp", "provider": "generic", "label": "Test IdP", "issuer_url": idp.issuer_url,
                "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "scope": ["openid", "email"],
                "mapper_url": "base64://" + base64.b64encode(MAPPER.encode()).decode()}
    return {"selfservice": {
        "methods": {"totp": {"enabled": True}, "lookup_secret": {"enabled": True}, "link": {"enabled": True},
                    "oidc": {"enabled": True, "config": {"providers": [provider]}}},
        "flows": {"recovery": {"enabled": True, "use": "code"}, "verification": {"enabled": True, "use": "link"},
                  "settings": {"required_aal": "aal1"}},
    }}


@dataclass
class Target:
    """The instance under test, an API session token and a browser session cookie of one identity."""

    gk: Instance
    public: httpx.AsyncClient
    admin: httpx.AsyncClient
    token: str
    cookie: str
    identity_id: str
    session_id: str


@pytest.fixture
async def target(sqlite_dsn: str) -> AsyncIterator[Target]:
    idp = OidcProvider()
    async with serving(idp.app()) as idp_url:
        idp.base = idp_url
        async with started(sqlite_dsn, overrides(idp)) as gk, \
                httpx.AsyncClient(base_url=gk.public, timeout=30) as public, \
                httpx.AsyncClient(base_url=gk.admin, timeout=30) as admin:
            flow = (await public.get("/self-service/registration/api")).json()
            done = (await public.post(f"/self-service/registration?flow={flow['id']}", json={
                "method": "password", "password": PASSWORD, "traits": {"email": EMAIL}})).json()
            browser = await public.get("/self-service/login/browser", headers={"Accept": "application/json"})
            csrf = node_value(browser.json(), "csrf_token")
            signed_in = await public.post(browser.json()["ui"]["action"], headers={"Accept": "application/json"},
                                          json={"method": "password", "identifier": EMAIL, "password": PASSWORD,
                                                "csrf_token": csrf})
            assert signed_in.status_code == 200, signed_in.text
            cookie = "; ".join(f"{k}={v}" for k, v in public.cookies.items())
            public.cookies.clear()
            yield Target(gk, public, admin, done["session_token"], cookie, done["identity"]["id"],
                         done["session"]["id"])


def node_value(flow: dict[str, Any], name: str) -> Any:
    return next(n["attributes"].get("value") for n in flow["ui"]["nodes"] if n["attributes"].get("name") == name)


# -- the property ------------------------------------------------------------------------------------------

def kratos_shaped(body: Any, status: int) -> bool:
    """Kratos' error envelope (code and status of the response, a message), or a flow with its ui."""
    if not isinstance(body, dict):
        return False
    error = body.get("error")
    if isinstance(error, dict):
        return error.get("code") == status and isinstance(error.get("status"), str) \
            and isinstance(error.get("message"), str) and bool(error["message"])
    ui = body.get("ui")
    return isinstance(ui, dict) and isinstance(ui.get("nodes"), list) and isinstance(ui.get("messages", []), list)


async def check(client: httpx.AsyncClient, resp: httpx.Response) -> None:
    """Never a 5xx or a stack trace; JSON 4xx in Kratos' shape; an error page's stored error is no 5xx either.

    The client forgets the cookies it was given: each request names its own."""
    client.cookies.clear()
    where = f"{resp.request.method} {resp.request.url}: {resp.status_code} {resp.text[:2000]}"
    assert resp.status_code < 500, where
    assert "Traceback" not in resp.text and 'File "' not in resp.text, where
    if resp.status_code >= 400 and resp.headers.get("content-type", "").startswith("application/json"):
        batch = resp.request.url.path == "/admin/identities" and resp.request.method == "PATCH"
        assert batch or kratos_shaped(resp.json(), resp.status_code), where
    location = resp.headers.get("location", "")
    if "/ui/error?id=" in location:
        error_id = location.rsplit("id=", 1)[1]
        stored = await client.get(f"{client.base_url}/self-service/errors", params={"id": error_id})
        assert stored.status_code == 200 and stored.json()["error"]["code"] < 500, (where, stored.text)


# -- generated values ----------------------------------------------------------------------------------------

KEYS = ["method", "password", "identifier", "traits", "email", "csrf_token", "totp_code", "totp_unlink",
        "lookup_secret", "lookup_secret_confirm", "lookup_secret_reveal", "lookup_secret_regenerate",
        "lookup_secret_disable", "code", "provider", "link", "unlink", "session_token", "schema_id", "state",
        "credentials", "metadata_public", "op", "path", "value", "from", "identity_id", "expires_in", "resend",
        "transient_payload", "upstream_parameters", "traits.email", "lookup_secret_foo", "id_token"]
TEXT = st.one_of(st.text(max_size=12), st.sampled_from(
    ["", " ", "\ud800", "\udfff", "\x00", "true", "True", "false", "password", "totp", "lookup_secret", "code",
     "link", "profile", "oidc", "idp", "default", EMAIL, PASSWORD, "123456", "a" * 5000, "%00", "../x",
     "00000000-0000-4000-8000-000000000000", "not-a-uuid", "/traits/email", "/", "add", "replace", "remove"]))
NUMBERS = st.one_of(st.integers(), st.sampled_from([2**64, -(2**63), 10**40, 1e308, -1e308, 5e-324, -0.0]),
                    st.floats(allow_nan=False, allow_infinity=False))
LEAF = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)
JSON = st.recursive(LEAF, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                  st.dictionaries(st.one_of(st.sampled_from(KEYS), TEXT), inner,
                                                                  max_size=4)),
                    max_leaves=12)
# bodies Python's json reads but a Go decoder (Kratos) refuses, and plain garbage
RAW = st.one_of(st.binary(max_size=64), st.sampled_from([
    b"", b"null", b"NaN", b"Infinity", b"-Infinity", b'{"method": NaN}', b'{"traits": {"email": 1e999}}',
    b'{"password": Infinity}', b'{"method": "password", "password": 1e400, "identifier": -1e400}',
    b'{"traits": {"email": "\\ud800"}}', b'{"identifier": "\\udfff\\ud800", "method": "password"}',
    b'{"method": "\\u0000"}', b'{"a": 1', b"\xff\xfe{}", b"\xef\xbb\xbf{}", b'{"a": "\xff"}', b"[]", b"1" * 5000,
    b'{"traits": ' + b"[" * 3000 + b"]" * 3000 + b"}", b'{"__proto__": {}}', b'{"method": "password"}' * 2]))


def dumps(value: Any) -> bytes:
    """JSON text of `value`; lone surrogates become `\\udXXX` escapes (valid JSON, invalid Unicode)."""
    return json.dumps(value, ensure_ascii=True).encode()


def form(value: Any) -> bytes:
    """`value` as application/x-www-form-urlencoded, nested keys dotted (Kratos' form names); lone surrogates go
    as the bytes of their UTF-8-style encoding (not UTF-8)."""
    pairs: list[tuple[str, str]] = []

    def walk(prefix: str, v: Any) -> None:
        if isinstance(v, dict) and v:
            for k, item in v.items():
                walk(f"{prefix}.{k}" if prefix else str(k), item)
        elif isinstance(v, list) and v:
            for item in v:
                walk(prefix, item)
        else:
            pairs.append((prefix or "x", v if isinstance(v, str) else json.dumps(v)))

    walk("", value)

    def enc(s: str) -> str:
        return quote(s.encode("utf-8", "surrogatepass"), safe="")

    return "&".join(f"{enc(k)}={enc(v)}" for k, v in pairs).encode()


VALID: dict[str, list[dict[str, Any]]] = {
    "login": [{"method": "password", "identifier": EMAIL, "password": "wrong-password-1"},
              {"method": "totp", "totp_code": "123456"}, {"method": "lookup_secret", "lookup_secret": "abcdefgh"},
              {"method": "oidc", "provider": "idp"}, {"method": "code", "email": EMAIL}],
    "registration": [{"method": "password", "password": PASSWORD, "traits": {"email": "new@example.com"}},
                     {"method": "profile", "traits": {"email": "new@example.com"}},
                     {"method": "oidc", "provider": "idp"}],
    "settings": [{"method": "profile", "traits": {"email": EMAIL}}, {"method": "password", "password": PASSWORD},
                 {"method": "totp", "totp_code": "123456"}, {"totp_unlink": "true"},
                 {"method": "lookup_secret", "lookup_secret_regenerate": "true"}, {"lookup_secret_confirm": "true"},
                 {"lookup_secret_reveal": "true"}, {"lookup_secret_disable": "true"},
                 {"method": "oidc", "link": "idp"}, {"unlink": "idp"}],
    "recovery": [{"method": "code", "email": EMAIL}, {"method": "code", "code": "123456"},
                 {"method": "link", "email": EMAIL}],
    "verification": [{"method": "link", "email": EMAIL}, {"method": "code", "email": EMAIL},
                     {"method": "code", "code": "123456"}],
}


@st.composite
def near_valid(draw: st.DrawFn, bases: list[dict[str, Any]]) -> dict[str, Any]:
    """A valid body with a key replaced by (or added as) a random JSON value, or removed."""
    body = dict(draw(st.sampled_from(bases)))
    for _ in range(draw(st.integers(1, 2))):
        op = draw(st.sampled_from(["replace", "replace", "add", "remove"]))
        if op == "replace" and body:
            body[draw(st.sampled_from(sorted(body)))] = draw(JSON)
        elif op == "add":
            body[draw(st.sampled_from(KEYS))] = draw(JSON)
        elif body:
            del body[draw(st.sampled_from(sorted(body)))]
    return body


# ids as they go into a URL: percent-encoded (NUL, invalid UTF-8, an encoded slash), or not quite (%zz)
FLOW_IDS = st.one_of(st.sampled_from(["", "not-a-uuid", "00000000-0000-4000-8000-000000000000", "x" * 5000,
                                      "%00", "%ff%fe", "%zz", "a%2Fb", "%F0%9F%99%82", "%ED%A0%80", "..", "a+b"]),
                     st.text(max_size=40).map(lambda s: quote(s.encode("utf-8", "surrogatepass"), safe="")))
CONTENT_TYPES = st.sampled_from(["application/json", "application/json; charset=utf-8", "APPLICATION/JSON",
                                 "application/x-www-form-urlencoded", "multipart/form-data; boundary=b",
                                 "multipart/form-data", "text/plain", "", "application/json-patch+json",
                                 "application/merge-patch+json", "application/xml", "*/*"])


# -- self-service --------------------------------------------------------------------------------------------

async def new_flow(t: Target, kind: str, browser: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """A fresh flow of `kind` and the headers that go with submitting it (session, CSRF cookie)."""
    session = {"X-Session-Token": t.token} if kind == "settings" and not browser else {}
    cookie = t.cookie if kind == "settings" and browser else ""
    kind_path = f"/self-service/{kind}/{'browser' if browser else 'api'}"
    resp = await t.public.get(kind_path, headers={"Accept": "application/json", **session,
                                                  **({"Cookie": cookie} if cookie else {})})
    assert resp.status_code == 200, resp.text
    if browser:
        jar = "; ".join(f"{k}={v}" for k, v in resp.cookies.items())
        cookie = "; ".join(c for c in (cookie, jar) if c)
    t.public.cookies.clear()
    return resp.json(), {**session, **({"Cookie": cookie} if cookie else {})}


@st.composite
def submission(draw: st.DrawFn) -> tuple[str, bool, str, Any, str]:
    """(flow kind, browser?, encoding, body, how the flow is named: "flow" or a weird id)."""
    kind = draw(st.sampled_from(sorted(VALID)))
    browser = draw(st.booleans())
    encoding = draw(st.sampled_from(["json", "json", "form", "form-html"] if browser else ["json", "json", "form"]))
    body = draw(st.one_of(near_valid(VALID[kind]), near_valid(VALID[kind]), JSON))
    if browser and isinstance(body, dict) and draw(st.integers(0, 3)):
        body.setdefault("csrf_token", "<csrf>")
    flow_id = draw(st.one_of(st.just("flow"), st.just("flow"), st.just("flow"), FLOW_IDS))
    return kind, browser, encoding, body, flow_id


@FUZZ
@given(submission())
@example(("settings", False, "json", {"lookup_secret_foo": "true"}, "flow"))  # claimed, no strategy responsible
@example(("settings", False, "json", {"link": 1}, "flow"))
@example(("settings", True, "form", {"lookup_secret_x": "true", "csrf_token": "<csrf>"}, "flow"))
async def test_self_service_submits_never_fail_with_5xx(target: Target,
                                                        sub: tuple[str, bool, str, Any, str]) -> None:
    kind, browser, encoding, body, flow_id = sub
    flow, headers = await new_flow(target, kind, browser)
    if isinstance(body, dict) and body.get("csrf_token") == "<csrf>":
        body["csrf_token"] = node_value(flow, "csrf_token")
    if encoding == "json":
        headers.update(JSON_TYPE)
        content = dumps(body)
    else:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        if encoding == "form":
            headers["Accept"] = "application/json"
        content = form(body)
    url = f"/self-service/{kind}?flow={flow['id'] if flow_id == 'flow' else flow_id}"
    await check(target.public, await target.public.post(url, content=content, headers=headers))


@FUZZ
@given(st.sampled_from(sorted(VALID)), st.booleans(), CONTENT_TYPES, st.one_of(RAW, JSON.map(dumps)))
@example("login", False, "application/json", b'{"method": "password", "identifier": "\\udfff"}')  # echoed back
@example("registration", True, "application/json", b'{"method": "profile", "traits": {"email": "a\\ud800"}}')
@example("login", False, "application/json", b'{"method": "password", "identifier": 1e999}')
@example("registration", False, "application/json", b'{"method": "profile", "traits": {"email": NaN}}')
async def test_raw_self_service_bodies_never_fail_with_5xx(target: Target, kind: str, browser: bool,
                                                           content_type: str, content: bytes) -> None:
    flow, headers = await new_flow(target, kind, browser)
    headers.update({"Accept": "application/json", **({"Content-Type": content_type} if content_type else {})})
    resp = await target.public.post(f"/self-service/{kind}?flow={flow['id']}", content=content, headers=headers)
    await check(target.public, resp)


SESSION_CALLS = [("DELETE", "/self-service/logout/api"), ("DELETE", "/sessions"), ("GET", "/sessions"),
                 ("DELETE", "/sessions/{id}"), ("POST", "/sessions/whoami"), ("GET", "/sessions/whoami"),
                 ("GET", "/self-service/logout/browser"), ("GET", "/self-service/logout"),
                 ("GET", "/self-service/errors")]


@FUZZ
@given(st.sampled_from(SESSION_CALLS), st.sampled_from(["none", "token", "cookie", "bogus"]), CONTENT_TYPES,
       st.one_of(RAW, JSON.map(dumps)), FLOW_IDS)
@example(("DELETE", "/self-service/logout/api"), "none", "application/json", b"", "x")  # no body at all
async def test_session_endpoints_never_fail_with_5xx(target: Target, call: tuple[str, str], credential: str,
                                                     content_type: str, content: bytes, weird: str) -> None:
    method, path = call
    headers = {"Accept": "application/json", **({"Content-Type": content_type} if content_type else {})}
    if credential == "token":
        headers["X-Session-Token"] = target.token
    elif credential == "cookie":
        headers["Cookie"] = target.cookie
    elif credential == "bogus":
        headers["Authorization"] = f"Bearer x{weird}"
    url = path.replace("{id}", weird or "x") + (f"?id={weird}&token={weird}&return_to={weird}" if weird else "")
    resp = await target.public.request(method, url, content=content or None, headers=headers)
    await check(target.public, resp)


# -- admin ---------------------------------------------------------------------------------------------------

CREATE = {"schema_id": "default", "traits": {"email": "admin-made@example.com"}, "state": "active",
          "metadata_public": {"a": 1}, "metadata_admin": None,
          "credentials": {"password": {"config": {"password": PASSWORD}}},
          "verifiable_addresses": [{"value": "admin-made@example.com", "verified": True, "via": "email",
                                    "status": "completed"}],
          "recovery_addresses": [{"value": "admin-made@example.com", "via": "email"}]}
PATCHES = [[{"op": "replace", "path": "/traits/email", "value": "patched@example.com"}],
           [{"op": "add", "path": "/metadata_public", "value": {"x": 1}}],
           [{"op": "remove", "path": "/metadata_admin"}], [{"op": "test", "path": "/state", "value": "active"}],
           [{"op": "copy", "from": "/traits", "path": "/metadata_admin"}],
           [{"op": "move", "from": "/metadata_public", "path": "/metadata_admin"}],
           [{"op": "replace", "path": "/credentials/password/config/password", "value": PASSWORD}]]


@st.composite
def admin_call(draw: st.DrawFn) -> tuple[str, str, Any]:
    """(method, path with `{id}` for an existing identity or a weird id, JSON body)."""
    ident = draw(st.one_of(st.just("{id}"), st.just("{id}"), FLOW_IDS))
    choice = draw(st.integers(0, 8))
    if choice == 0:
        return "POST", "/admin/identities", draw(st.one_of(near_valid([CREATE]), JSON))
    if choice == 1:
        return "PUT", f"/admin/identities/{ident}", draw(st.one_of(near_valid([CREATE]), JSON))
    if choice == 2:
        ops = draw(st.sampled_from(PATCHES))
        body = [draw(near_valid([op])) if draw(st.booleans()) else op for op in ops]
        return "PATCH", f"/admin/identities/{ident}", draw(st.one_of(st.just(body), JSON))
    if choice == 3:
        items = draw(st.lists(st.one_of(st.builds(lambda c, p: {"create": c, "patch_id": p}, near_valid([CREATE]),
                                                  JSON), JSON), max_size=3))
        return "PATCH", "/admin/identities", draw(st.one_of(st.just({"identities": items}), JSON))
    if choice in (4, 5):
        base = {"identity_id": "{id}", "expires_in": "1h"}
        kind = "link" if choice == 4 else "code"
        return "POST", f"/admin/recovery/{kind}", draw(st.one_of(near_valid([base]), JSON))
    if choice == 6:
        return "DELETE", f"/admin/sessions/{draw(st.one_of(st.just('{session}'), FLOW_IDS))}", draw(JSON)
    if choice == 7:
        return "PATCH", f"/admin/sessions/{draw(st.one_of(st.just('{session}'), FLOW_IDS))}/extend", draw(JSON)
    return "GET", f"/admin/courier/messages/{ident}", None


@FUZZ
@given(admin_call(), st.one_of(st.just("application/json"), st.just("application/json"), CONTENT_TYPES),
       st.one_of(st.none(), st.none(), st.none(), RAW))
@example(("POST", "/admin/identities", None), "application/json",
         b'{"schema_id": "default", "traits": {"email": "nan@example.com"}, "metadata_public": NaN}')
@example(("POST", "/admin/identities", None), "application/json",
         b'{"schema_id": "default", "traits": {"email": "inf@example.com"}, "metadata_admin": [-1e400]}')
@example(("POST", "/admin/identities", None), "application/json",
         b'{"schema_id": "default", "traits": {"email": "s@example.com"}, "metadata_public": "\\ud800"}')
async def test_admin_bodies_never_fail_with_5xx(target: Target, call: tuple[str, str, Any], content_type: str,
                                                raw: bytes | None) -> None:
    method, path, body = call
    path = path.replace("{id}", target.identity_id).replace("{session}", "00000000-0000-4000-8000-000000000001")
    content = raw if raw is not None else dumps(body).replace(b'"{id}"', json.dumps(target.identity_id).encode())
    headers = {"Content-Type": content_type} if content_type else {}
    resp = await target.admin.request(method, path, content=content if body is not None or raw else None,
                                      headers=headers)
    await check(target.admin, resp)


def test_the_form_encoder_keeps_lone_surrogates_as_bytes() -> None:
    assert form({"a": {"b": "\ud800"}, "c": [1, "x"]}) == b"a.b=%ED%A0%80&c=1&c=x"

