"""Ory's quickstart pair run unchanged: `gatekeeper serve -c kratos.yml -c oathkeeper.yml --dev --watch-courier`.

The files in tests/fixtures/ory-quickstart have the shape and keys of Kratos v25.4's email-password quickstart
and its Oathkeeper companion. As in a container deployment, only hosts and ports change (the rule file names
docker-compose hosts, so the test writes local addresses in their place) and file locations come from the
environment, Ory's way (`IDENTITY_SCHEMAS` as a JSON list). With `ORY_KRATOS_GIT` pointing at a clone of
ory/kratos, the same test also runs on Ory's own files at tag v25.4.0.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import AsyncIterator
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

from gatekeeper.access.global_config import check_global_config
from gatekeeper.config import ConfigError, parse_documents
from tests.support.process import ServeProcess, gatekeeper_command, serve_process, wait_until
from tests.support.servers import serving
from tests.support.smtp import SmtpSink, code_in, free_port, mail_to

FIXTURES = Path(__file__).parent / "fixtures" / "ory-quickstart"
QUICKSTART_FILES = {  # our name -> path in ory/kratos at v25.4.0
    "kratos.yml": "contrib/quickstart/kratos/email-password/kratos.yml",
    "identity.schema.json": "contrib/quickstart/kratos/email-password/identity.schema.json",
    "oathkeeper.yml": "contrib/quickstart/oathkeeper/oathkeeper.yml",
    "access-rules.yml": "contrib/quickstart/oathkeeper/access-rules.yml",
}
PASSWORD = "a-Long-and-unusual-passphrase-42"


def _ory_files(target: Path) -> None:
    git_dir = os.environ["ORY_KRATOS_GIT"]
    for name, path in QUICKSTART_FILES.items():
        shown = subprocess.run(["git", "--git-dir", git_dir, "show", f"v25.4.0:{path}"], capture_output=True,
                               check=True)
        (target / name).write_bytes(shown.stdout)


@pytest.fixture(params=["fixtures", "ory"])
def quickstart(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A folder with kratos.yml, identity.schema.json, oathkeeper.yml and access-rules.yml, as Ory ships them."""
    folder = tmp_path / "quickstart"
    folder.mkdir()
    if request.param == "ory":
        if not os.environ.get("ORY_KRATOS_GIT"):
            pytest.skip("set ORY_KRATOS_GIT to a clone of github.com/ory/kratos to run on Ory's own files")
        _ory_files(folder)
    else:
        for name in QUICKSTART_FILES:
            (folder / name).write_bytes((FIXTURES / name).read_bytes())
    return folder


def _signing_key(folder: Path) -> rsa.RSAPrivateKey:
    """The id_token mutator's key set (Ory's quickstart ships one; ours is made here)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(key))
    (folder / "id_token.jwks.json").write_text(json.dumps({"keys": [{**jwk, "kid": "quickstart", "use": "sig",
                                                                     "alg": "RS256"}]}))
    return key


def _echo_ui() -> Starlette:
    """Stands in for kratos-selfservice-ui-node: answers with what it received."""
    async def echo(request: Request) -> JSONResponse:
        return JSONResponse({"path": request.url.path, "headers": dict(request.headers)})
    return Starlette(routes=[Route("/{path:path}", echo)])


@pytest.fixture
async def ui() -> AsyncIterator[str]:
    async with serving(_echo_ui()) as url:
        yield url


@pytest.fixture
async def mail() -> AsyncIterator[SmtpSink]:
    server = await SmtpSink().start()
    yield server
    await server.stop()


def _start(folder: Path, ui: str, mail: SmtpSink, tmp_path: Path) -> tuple[Any, dict[str, str]]:
    ports = {name: free_port() for name in ("proxy", "public", "admin", "api", "metrics")}
    hosts = {"127.0.0.1:4455": f"127.0.0.1:{ports['proxy']}", "127.0.0.1:4433": f"127.0.0.1:{ports['public']}",
             "kratos:4433": f"127.0.0.1:{ports['public']}", "kratos:4434": f"127.0.0.1:{ports['admin']}",
             "kratos-selfservice-ui-node:4435": ui.removeprefix("http://")}
    rules = (folder / "access-rules.yml").read_text()
    for docker_host, local in hosts.items():
        rules = rules.replace(docker_host, local)
    (folder / "access-rules.yml").write_text(rules)
    proxy = f"http://127.0.0.1:{ports['proxy']}"
    env = {  # hosts, ports and file locations only
        **{f"SERVE_{name.upper()}_PORT": str(port) for name, port in ports.items()},
        **{f"SERVE_{name.upper()}_HOST": "127.0.0.1" for name in ports},
        "SERVE_PUBLIC_BASE_URL": f"{proxy}/.ory/kratos/public/",  # as Ory's quickstart-oathkeeper.yml sets it
        "SERVE_ADMIN_BASE_URL": f"http://127.0.0.1:{ports['admin']}/",
        "SELFSERVICE_DEFAULT_BROWSER_RETURN_URL": f"{proxy}/welcome",
        "SELFSERVICE_ALLOWED_RETURN_URLS": json.dumps([proxy]),
        "SELFSERVICE_FLOWS_LOGIN_UI_URL": f"{proxy}/login",
        "SELFSERVICE_FLOWS_REGISTRATION_UI_URL": f"{proxy}/registration",
        "SELFSERVICE_FLOWS_VERIFICATION_UI_URL": f"{proxy}/verification",
        "SELFSERVICE_FLOWS_ERROR_UI_URL": f"{proxy}/error",
        "ERRORS_HANDLERS_REDIRECT_CONFIG_TO": f"{proxy}/login",
        "MUTATORS_ID_TOKEN_CONFIG_ISSUER_URL": f"{proxy}/",
        "IDENTITY_SCHEMAS": json.dumps([{"id": "default", "url": f"file://{folder}/identity.schema.json"}]),
        "ACCESS_RULES_REPOSITORIES": json.dumps([f"file://{folder}/access-rules.yml"]),
        "MUTATORS_ID_TOKEN_CONFIG_JWKS_URL": f"file://{folder}/id_token.jwks.json",
        "AUTHENTICATORS_COOKIE_SESSION_CONFIG_CHECK_SESSION_URL": f"http://127.0.0.1:{ports['public']}/sessions/whoami",
        "COURIER_SMTP_CONNECTION_URI": mail.uri(query="disable_starttls=true"),
        "LOG_FORMAT": "json",  # the test reads the log lines
    }
    command = gatekeeper_command("serve", "-c", str(folder / "kratos.yml"), "-c", str(folder / "oathkeeper.yml"),
                                 "--dev", "--watch-courier")
    return serve_process(command, tmp_path / "gatekeeper.log", env=env), {"proxy": proxy, **{
        name: f"http://127.0.0.1:{port}" for name, port in ports.items() if name != "proxy"}}


def _ready(running: ServeProcess, urls: dict[str, str]) -> None:
    wait_until(lambda: httpx.get(f"{urls['public']}/health/ready").status_code == 200)


async def test_the_quickstart_pair_runs_unchanged_and_behaves_as_kratos_with_oathkeeper(
        quickstart: Path, ui: str, mail: SmtpSink, tmp_path: Path) -> None:
    key = _signing_key(quickstart)
    started, urls = _start(quickstart, ui, mail, tmp_path)
    proxy = urls["proxy"]
    with started as running:
        _ready(running, urls)
        warned = [e["msg"] for e in running.log_entries() if e.get("level") == "warning"]
        assert any("kratos.yml" in w and "ciphers" in w for w in warned), warned  # said once, never silently
        async with httpx.AsyncClient(timeout=20) as client:
            # oathkeeper.yml's error handlers: a browser is sent to the login UI, an API client gets JSON
            page = await client.get(f"{proxy}/sessions", headers={"Accept": "text/html"})
            assert page.status_code == 302 and page.headers["location"] == f"{proxy}/login"
            api = await client.get(f"{proxy}/sessions", headers={"Accept": "application/json"})
            assert api.status_code == 401 and api.json()["error"]["code"] == 401
            # the anonymous rule: the UI is reached through the proxy
            login_page = await client.get(f"{proxy}/login")
            assert login_page.status_code == 200 and login_page.json()["path"] == "/login"

            # sign up through the Kratos public API behind the proxy (strip_path), as the quickstart UI does
            email = "quick@example.com"
            flow = (await client.get(f"{proxy}/.ory/kratos/public/self-service/registration/browser",
                                     headers={"Accept": "application/json"})).json()
            assert flow["ui"]["action"].startswith(f"{proxy}/.ory/kratos/public/self-service/registration?flow=")
            csrf = next(n["attributes"]["value"] for n in flow["ui"]["nodes"]
                        if n["attributes"].get("name") == "csrf_token")
            done = await client.post(flow["ui"]["action"], headers={"Accept": "application/json"}, json={
                "method": "password", "csrf_token": csrf, "password": PASSWORD,
                "traits": {"email": email, "name": {"first": "Quick", "last": "Start"}}})
            assert done.status_code == 200, done.text
            identity_id = done.json()["identity"]["id"]
            assert "show_verification_ui" in [c["action"] for c in done.json()["continue_with"]]

            # the protected rule: cookie_session asks whoami, id_token signs the session for the UI
            seen = await client.get(f"{proxy}/sessions", headers={"Accept": "text/html"})
            assert seen.status_code == 200, seen.text
            bearer = seen.json()["headers"]["authorization"].removeprefix("Bearer ")
            claims = jwt.decode(bearer, key.public_key(), algorithms=["RS256"], issuer=f"{proxy}/",
                                options={"verify_aud": False})
            assert claims["sub"] == identity_id
            assert claims["session"]["identity"]["traits"]["email"] == email
            assert jwt.get_unverified_header(bearer)["kid"] == "quickstart"

        # the verification code went out through the courier (`--watch-courier`)
        message = (await mail_to(mail, email))[0]
        assert len(code_in(message)) == 6


SCHEMAS = {  # environment variable naming a clone -> (tag, path of the config JSON schema in it)
    "ORY_KRATOS_GIT": ("v25.4.0", "embedx/config.schema.json"),
    "ORY_OATHKEEPER_GIT": ("v26.2.0", ".schema/config.schema.json"),
}


def _schema_paths(schema: dict[str, Any], node: Any, at: tuple[str, ...], seen: frozenset[str]) -> set[tuple[str, ...]]:
    """Every key path a JSON schema allows (`0` for a list item, `x` for a free mapping key)."""
    if not isinstance(node, dict):
        return set()
    found: set[tuple[str, ...]] = set()
    ref = node.get("$ref", "")
    if ref.startswith("#/") and ref not in seen:
        target: Any = schema
        for part in ref[2:].split("/"):
            target = target[part]
        found |= _schema_paths(schema, target, at, seen | {ref})
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in node.get(key, []):
            found |= _schema_paths(schema, sub, at, seen)
    for key in ("if", "then", "else"):
        found |= _schema_paths(schema, node.get(key), at, seen)
    for name, sub in node.get("properties", {}).items():
        if name == "additionalProperties":  # Kratos' httpRequestConfig lists the keyword as a property by mistake
            continue
        found |= {(*at, name)} | _schema_paths(schema, sub, (*at, name), seen)
    if isinstance(node.get("items"), dict):
        found |= _schema_paths(schema, node["items"], (*at, "0"), seen)
    for sub in [node.get("additionalProperties"), *node.get("patternProperties", {}).values()]:
        if isinstance(sub, dict) and (sub.get("properties") or sub.get("$ref")):
            found |= _schema_paths(schema, sub, (*at, "x"), seen)
    return found


def _document(path: tuple[str, ...]) -> Any:
    """A config setting `path` to a string; a handler's `config` key comes with the handler enabled, so that its
    config is checked too."""
    value: Any = "x"
    for part in reversed(path):
        value = [value] if part == "0" else {part: value}
    handler = {"authenticators": 2, "authorizers": 2, "mutators": 2, "errors": 3}.get(path[0])
    if handler and len(path) > handler and path[handler] == "config":
        section = value
        for part in path[:handler]:
            section = section[part]
        section["enabled"] = True
    return value


@pytest.mark.parametrize("variable", sorted(SCHEMAS))
def test_every_key_of_ory_config_schemas_is_known(variable: str) -> None:
    """No key of Kratos' or Oathkeeper's config schema is an "unknown key" here (its value may still be wrong)."""
    if not os.environ.get(variable):
        pytest.skip(f"set {variable} to a clone of the Ory project to check every key of its config schema")
    tag, path = SCHEMAS[variable]
    schema = json.loads(subprocess.run(["git", "--git-dir", os.environ[variable], "show", f"{tag}:{path}"],
                                       capture_output=True, check=True).stdout)
    unknown = []
    for key_path in sorted(_schema_paths(schema, schema, (), frozenset())):
        try:
            check_global_config(parse_documents([(json.dumps(_document(key_path)), "ory.json")], env={}, dev=True))
        except ConfigError as exc:
            unknown += [p.path for p in exc.problems if p.message.startswith(("unknown key", "unknown handler"))]
    assert sorted(set(unknown)) == []
