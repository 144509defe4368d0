"""Flow variants and configuration: one-step registration (unified / legacy), disabled registration, several
identity schemas (file, base64, http), refresh logins, Kratos' node order, typed config with env overrides."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from gatekeeper.config import parse_config
from gatekeeper.config.database import CleanupSleep, DatabaseCleanup
from gatekeeper.config.types import Duration
from gatekeeper.identity.cleanup import Cleanup
from gatekeeper.identity.schemas import SchemaError
from gatekeeper.identity.text import Msg
from tests.identity.conftest import PASSWORD, identity_config
from tests.support.servers import running_gatekeeper, serving

USERNAME_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {"traits": {"type": "object", "properties": {
        "username": {"type": "string", "title": "Username", "pattern": "^[a-z0-9_]{3,20}$",
                     "ory.sh/kratos": {"credentials": {"password": {"identifier": True}}}},
        "age": {"type": "integer", "title": "Age", "minimum": 13},
        "newsletter": {"type": "boolean", "title": "Newsletter"},
    }, "required": ["username"]}},
}


def names(flow: dict[str, Any]) -> list[str]:
    return [n["attributes"].get("name") or n["attributes"].get("id") for n in flow["ui"]["nodes"]]


@pytest.mark.parametrize("registration", [{"style": "unified"}, {"enable_legacy_one_step": True}])
async def test_one_step_registration_shows_traits_and_password_together(start: Callable[..., Any],
                                                                        registration: dict[str, Any]) -> None:
    async with start({"selfservice": {"flows": {"registration": registration}}}) as gk:
        async with httpx.AsyncClient(base_url=gk.public) as c:
            flow = (await c.get("/self-service/registration/api")).json()
            # Kratos' order: the password right after the first trait, `method` last
            assert names(flow) == ["csrf_token", "traits.email", "password", "traits.name.first", "traits.name.last",
                                   "method"]
            submit = flow["ui"]["nodes"][-1]
            assert (submit["group"], submit["attributes"]["value"], submit["meta"]["label"]["id"]) == (
                "password", "password", Msg.INFO_REGISTRATION)
            profile = await c.post(f"/self-service/registration?flow={flow['id']}",
                                   json={"method": "profile", "traits": {"email": "ada@example.com"}})
            assert profile.status_code == 400  # no profile step in this style
            assert profile.json()["ui"]["messages"][0]["id"] == Msg.ERR_REGISTRATION_NO_STRATEGY


async def test_two_step_screen_back_keeps_the_values(start: Callable[..., Any]) -> None:
    async with start() as gk:
        async with httpx.AsyncClient(base_url=gk.public) as c:
            flow = (await c.get("/self-service/registration/api")).json()
            assert names(flow) == ["csrf_token", "traits.email", "traits.name.first", "traits.name.last", "method"]
            url = f"/self-service/registration?flow={flow['id']}"
            traits = {"email": "ada@example.com", "name": {"first": "Ada"}}
            creds = (await c.post(url, json={"method": "profile", "traits": traits})).json()
            assert names(creds) == ["csrf_token", "traits.email", "password", "traits.name.first", "traits.name.last",
                                    "method", "screen"]
            back = (await c.post(url, json={"method": "profile", "screen": "previous", "traits": traits})).json()
            assert names(back) == names(flow)
            first = next(n for n in back["ui"]["nodes"] if n["attributes"]["name"] == "traits.name.first")
            assert first["attributes"]["value"] == "Ada" and first["attributes"]["type"] == "text"
            bad = await c.post(url, json={"method": "profile", "traits": {"email": "nope"}})
            email = next(n for n in bad.json()["ui"]["nodes"] if n["attributes"]["name"] == "traits.email")
            assert Msg.ERR_VALIDATION_GENERIC in [m["id"] for m in email["messages"]]


async def test_disabled_registration(start: Callable[..., Any]) -> None:
    async with start({"selfservice": {"flows": {"registration": {"enabled": False}}}}) as gk:
        async with httpx.AsyncClient(base_url=gk.public) as c:
            resp = await c.get("/self-service/registration/api")
            assert resp.status_code == 400 and resp.json()["error"]["id"] == "self_service_flow_disabled"


async def test_several_schemas_from_file_base64_and_http(tmp_path: Path, start: Callable[..., Any]) -> None:
    schema_file = tmp_path / "username.schema.json"
    schema_file.write_text(json.dumps(USERNAME_SCHEMA))
    encoded = base64.b64encode(json.dumps(USERNAME_SCHEMA).encode()).decode()

    async def schema(request: Any) -> JSONResponse:
        return JSONResponse(USERNAME_SCHEMA)

    async with serving(Starlette(routes=[Route("/s.json", schema)])) as remote:
        schemas = [{"id": "file", "url": f"file://{schema_file}"}, {"id": "inline", "url": f"base64://{encoded}"},
                   {"id": "remote", "url": f"{remote}/s.json"}]
        async with start({"identity": {"default_schema_id": "file", "schemas": schemas}}) as gk:
            async with httpx.AsyncClient(base_url=gk.public) as c:
                listed = (await c.get("/schemas")).json()
                assert [s["id"] for s in listed] == ["file", "inline", "remote"]
                assert all(s["schema"] == USERNAME_SCHEMA for s in listed)
                flow = (await c.get("/self-service/registration/api", params={"identity_schema": "remote"})).json()
                assert flow["identity_schema"] == "remote"
                types = {n["attributes"]["name"]: n["attributes"]["type"] for n in flow["ui"]["nodes"]}
                assert types["traits.age"] == "number" and types["traits.newsletter"] == "checkbox"
                url = f"/self-service/registration?flow={flow['id']}"
                young = await c.post(url, data={"method": "password", "traits.username": "ada_l",
                                                "traits.age": "9", "password": PASSWORD})
                age = next(n for n in young.json()["ui"]["nodes"] if n["attributes"]["name"] == "traits.age")
                assert [m["id"] for m in age["messages"]] == [Msg.ERR_VALIDATION_MINIMUM]
                ok = await c.post(url, data={"method": "password", "traits.username": "ada_l", "traits.age": "36",
                                             "traits.newsletter": "true", "password": PASSWORD})
                assert ok.status_code == 200, ok.text
                assert ok.json()["identity"]["traits"] == {"username": "ada_l", "age": 36, "newsletter": True}
                assert ok.json()["identity"]["schema_id"] == "remote"
                login = (await c.get("/self-service/login/api")).json()
                identifier = next(n for n in login["ui"]["nodes"] if n["attributes"]["name"] == "identifier")
                assert identifier["meta"]["label"]["text"] == "Username"
                unknown = await c.get("/self-service/registration/api", params={"identity_schema": "nope"})
                assert unknown.status_code == 400


async def test_an_unusable_schema_stops_start_up_with_a_clear_error(tmp_path: Path, sqlite_dsn: str) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"type": "object", "properties": {"traits": {"type": "string"}}}')
    for url, words in ((f"file://{broken}", "traits"), (f"file://{tmp_path}/missing.json", "cannot load")):
        config = identity_config(sqlite_dsn, {"identity": {"schemas": [{"id": "default", "url": url}]}})
        with pytest.raises(SchemaError, match=words):
            async with running_gatekeeper(config):
                pass


async def test_refresh_login_prefills_the_identifier_and_says_why(start: Callable[..., Any]) -> None:
    async with start() as gk:
        async with httpx.AsyncClient(base_url=gk.public) as c:
            flow = (await c.get("/self-service/registration/api")).json()
            done = await c.post(f"/self-service/registration?flow={flow['id']}", json={
                "method": "password", "password": PASSWORD, "traits": {"email": "Ada@Example.com"}})
            token = done.json()["session_token"]
            refresh = await c.get("/self-service/login/api", params={"refresh": "true"},
                                  headers={"X-Session-Token": token})
            assert refresh.status_code == 200
            body = refresh.json()
            assert body["refresh"] is True and body["ui"]["messages"][0]["id"] == Msg.INFO_LOGIN_REAUTH
            identifier = next(n for n in body["ui"]["nodes"] if n["attributes"]["name"] == "identifier")
            assert identifier["attributes"] == {**identifier["attributes"], "type": "hidden",
                                                "value": "ada@example.com"}
            assert names(body) == ["csrf_token", "identifier", "password", "method"]


def test_selfservice_config_is_typed_and_env_overrides_resolve() -> None:
    config = parse_config("selfservice:\n  flows:\n    login:\n      lifespan: 10m\n", name="x.yaml", dev=True, env={
        "SELFSERVICE_FLOWS_REGISTRATION_STYLE": "unified",
        "SELFSERVICE_METHODS_PASSWORD_CONFIG_MIN_PASSWORD_LENGTH": "12",
        "SELFSERVICE_FLOWS_REGISTRATION_AFTER_PASSWORD_HOOKS": '[{"hook": "session"}]',
        "SESSION_COOKIE_SAME_SITE": "Strict",
        "HASHERS_BCRYPT_COST": "13",
    })
    flows = config.selfservice.flows
    assert flows.login.lifespan == 600 and flows.registration.one_step
    assert [h.hook for h in flows.registration.after.for_method("password").hooks] == ["session"]
    assert config.selfservice.methods.password.config.min_password_length == 12
    assert config.session.cookie.same_site == "Strict" and config.hashers.bcrypt.cost == 13
    assert flows.recovery.enabled is False and flows.settings.privileged_session_max_age == 3600  # Kratos defaults


@pytest.mark.parametrize(("yaml_text", "path"), [
    ("selfservice:\n  flows:\n    registration:\n      style: three_step\n", "selfservice.flows.registration.style"),
    ("selfservice:\n  flows:\n    login:\n      lifespan: soon\n", "selfservice.flows.login.lifespan"),
    ("hashers:\n  algorithm: md5\n", "hashers.algorithm"),
    ("selfservice:\n  methods:\n    pasword: {}\n", "selfservice.methods.pasword"),
])
def test_bad_identity_config_names_file_line_and_key(yaml_text: str, path: str) -> None:
    from gatekeeper.config import ConfigError

    with pytest.raises(ConfigError) as exc:
        parse_config(yaml_text, name="bad.yaml", dev=True, env={})
    assert any(p.path == path and p.line is not None for p in exc.value.problems), exc.value.problems


async def test_expired_flows_are_cleaned_up(start: Callable[..., Any]) -> None:
    async with start({"selfservice": {"flows": {"login": {"lifespan": "1ms"}}}}) as gk:
        async with httpx.AsyncClient(base_url=gk.public) as c:
            flow = (await c.get("/self-service/login/api")).json()
        cleanup = Cleanup(gk.container.store, DatabaseCleanup(sleep=CleanupSleep(Duration(0))), throttle_window=0,
                          flow_grace=0)
        assert (await cleanup.run_once())["selfservice_flows"] >= 1
        async with httpx.AsyncClient(base_url=gk.public) as c:
            assert (await c.get("/self-service/login/flows", params={"id": flow["id"]})).status_code == 404


async def test_a_schema_without_password_identifier_refuses_password_registration(tmp_path: Path,
                                                                                 start: Callable[..., Any]) -> None:
    schema = {"type": "object", "properties": {"traits": {"type": "object", "properties": {
        "nickname": {"type": "string", "title": "Nickname"}}}}}
    path = tmp_path / "no-id.json"
    path.write_text(json.dumps(schema))
    async with start({"identity": {"schemas": [{"id": "default", "url": f"file://{path}"}]}}) as gk:
        async with httpx.AsyncClient(base_url=gk.public) as c:
            flow = (await c.get("/self-service/registration/api")).json()
            resp = await c.post(f"/self-service/registration?flow={flow['id']}", json={
                "method": "password", "password": PASSWORD, "traits": {"nickname": "ada"}})
            assert resp.status_code == 400
            assert [m["id"] for m in resp.json()["ui"]["messages"]] == [Msg.ERR_IDENTIFIER_MISSING]
            login = (await c.get("/self-service/login/api")).json()
            label = next(n for n in login["ui"]["nodes"] if n["attributes"]["name"] == "identifier")["meta"]["label"]
            assert label["id"] == Msg.LABEL_ID and label["text"] == "ID"
