"""The `gatekeeper` command as an operator runs it: real subprocesses, exit codes, what they print."""

from __future__ import annotations

import argparse
import json
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import jwt
import pytest
import yaml

from gatekeeper import __version__, cli
from gatekeeper.jwks import public_jwks
from gatekeeper.store import migrate
from tests.access.support import access_config, access_instance, rule
from tests.support.process import ready_gatekeeper

ROOT = Path(__file__).parent.parent
GATEKEEPER = [sys.executable, "-m", "gatekeeper.cli"]
SECRET = "cli-test-cookie-secret-0123456789"


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DSN", "SERVE_", "SECRETS_", "LOG_"))}
    return subprocess.run([*GATEKEEPER, *args], capture_output=True, text=True, timeout=60,
                          env={**clean, **(env or {})}, cwd=cwd or ROOT)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("args", [["version"], ["--version"]])
def test_version_prints_the_version(args: list[str]) -> None:
    result = run(*args)
    assert (result.returncode, result.stdout.strip()) == (0, f"gatekeeper {__version__}")


def test_no_command_prints_help_and_exits_2() -> None:
    result = run()
    assert result.returncode == 2 and "serve" in result.stdout and "migrate" in result.stdout


def test_config_check_prints_ok_for_a_valid_file(tmp_path: Path) -> None:
    file = tmp_path / "gk.yaml"
    file.write_text(f"dsn: memory\nsecrets:\n  cookie: [{SECRET}]\n")
    result = run("config", "check", str(file))
    assert (result.returncode, result.stdout) == (0, "ok\n")


def test_config_check_prints_every_problem_and_exits_2_without_a_traceback(tmp_path: Path) -> None:
    file = tmp_path / "gk.yaml"
    file.write_text("dsn: memory\nserve:\n  publik:\n    port: 1\n  admin:\n    port: [1]\nlog:\n  format: xml\n")
    result = run("config", "check", str(file))
    assert result.returncode == 2
    assert result.stdout.splitlines() == [
        f"{file}:1: secrets.cookie: is required outside --dev (at least one secret of 16 or more characters)",
        f"{file}:3: serve.publik: unknown key (did you mean 'public'?)",
        f"{file}:6: serve.admin.port: expected an integer, got a list",
        f"{file}:8: log.format: expected 'json' or 'text', got 'xml'",
    ]
    assert "Traceback" not in result.stdout + result.stderr


def test_config_check_reports_yaml_syntax_errors_with_the_line(tmp_path: Path) -> None:
    file = tmp_path / "gk.yaml"
    file.write_text("dsn: memory\nserve: {public: [\n")
    result = run("config", "check", str(file))
    assert result.returncode == 2 and result.stdout.startswith(f"{file}:3: ")
    assert "Traceback" not in result.stderr


def test_config_check_blames_environment_variables(tmp_path: Path) -> None:
    file = tmp_path / "gk.yaml"
    file.write_text(f"dsn: memory\nsecrets:\n  cookie: [{SECRET}]\n")
    result = run("config", "check", str(file), env={"SERVE_PUBLIC_PORT": "http"})
    assert result.returncode == 2
    assert result.stdout == "environment variable SERVE_PUBLIC_PORT: serve.public.port: expected int, got 'http'\n"


def test_config_check_of_a_missing_file_exits_2(tmp_path: Path) -> None:
    result = run("config", "check", str(tmp_path / "nope.yaml"))
    assert result.returncode == 2 and "cannot read" in result.stdout and "Traceback" not in result.stderr


def test_make_runs_dev_config_passes_config_check_dev() -> None:
    result = run("config", "check", "--dev", "config/dev.yaml")
    assert (result.returncode, result.stdout) == (0, "ok\n")
    assert "generated" in result.stderr  # --dev says it generated the missing secrets


def test_serve_with_a_bad_config_exits_2(tmp_path: Path) -> None:
    file = tmp_path / "gk.yaml"
    file.write_text("dsn: memory\nserve:\n  public:\n    port: x\n")
    result = run("serve", "--config", str(file))
    assert result.returncode == 2
    assert f"{file}:4: serve.public.port: expected int, got 'x'" in result.stderr
    assert "Traceback" not in result.stderr


def test_migrate_up_then_status_on_sqlite(tmp_path: Path) -> None:
    dsn = f"sqlite://{tmp_path}/var/gk.db?_fk=true"
    before = run("migrate", "status", "--dsn", dsn)
    assert before.returncode == 0
    names = [f"{m.version:04d}_{m.name}" for m in migrate.available("sqlite")]
    assert [line.split()[0] for line in before.stdout.splitlines()] == names
    assert all(line.split()[1] == "pending" for line in before.stdout.splitlines())

    up = run("migrate", "up", "--dsn", dsn)
    assert up.returncode == 0
    assert [line.removeprefix("applied ") for line in up.stdout.splitlines()[:-1]] == names
    again = run("migrate", "up", "--dsn", dsn)
    assert (again.returncode, again.stdout) == (0, "0 migration(s) applied; database is up to date\n")

    after = run("migrate", "status", "--dsn", dsn)
    assert all(line.split()[1] != "pending" for line in after.stdout.splitlines())


def test_migrate_sql_as_kratos_spells_it(tmp_path: Path) -> None:
    """`migrate sql [up|status] [DSN] [-e] [--yes]`: Kratos' command line works unchanged."""
    dsn = f"sqlite://{tmp_path}/kratos.db"
    pending = len(migrate.available("sqlite"))
    asked = subprocess.run([*GATEKEEPER, "migrate", "sql", dsn], input="n\n", capture_output=True, text=True,
                           timeout=60, cwd=ROOT)
    assert asked.returncode == 0 and "Migration aborted." in asked.stdout
    assert run("migrate", "sql", "status", dsn).stdout.count("pending") == pending
    by_env = run("migrate", "sql", "-e", "--yes", env={"DSN": dsn})
    assert by_env.returncode == 0 and f"{pending} migration(s) applied" in by_env.stdout
    assert "pending" not in run("migrate", "sql", "status", dsn).stdout
    answered = subprocess.run([*GATEKEEPER, "migrate", "sql", dsn], input="maybe\ny\n", capture_output=True,
                              text=True, timeout=60, cwd=ROOT)
    assert answered.returncode == 0 and "0 migration(s) applied" in answered.stdout
    missing = run("migrate", "sql", "-e", "--yes")
    assert missing.returncode == 2 and "DSN is not set" in missing.stderr


def test_migrate_reads_the_dsn_from_the_config_and_needs_no_secrets(tmp_path: Path) -> None:
    file = tmp_path / "gk.yaml"
    file.write_text(f"dsn: sqlite://{tmp_path}/gk.db\n")
    result = run("migrate", "up", "--config", str(file))
    assert result.returncode == 0 and "database is up to date" in result.stdout
    assert "secret" not in result.stderr


@pytest.mark.parametrize("spelling", [["serve", "--watch-courier"], ["serve", "proxy"], ["serve", "api"],
                                      ["serve", "--sqa-opt-out"], ["serve", "--disable-telemetry"]])
def test_serve_takes_kratos_and_oathkeeper_spellings(spelling: list[str], tmp_path: Path) -> None:
    file = tmp_path / "bad.yaml"  # the config problem proves the spelling was parsed and serve went on to load it
    file.write_text("serve: {proxy: {port: nope}}\n")
    result = run(*spelling, "--config", str(file))
    assert result.returncode == 2 and "unrecognized" not in result.stderr and "serve.proxy.port" in result.stderr


def test_a_config_before_the_command_as_kratos_takes_it(tmp_path: Path) -> None:
    file, other = tmp_path / "gk.yaml", tmp_path / "other.yaml"
    file.write_text(f"dsn: sqlite://{tmp_path}/global.db\n")
    other.write_text(f"dsn: sqlite://{tmp_path}/own.db\n")
    assert run("-c", str(file), "migrate", "up").returncode == 0
    assert (tmp_path / "global.db").exists()
    assert run("-c", str(file), "migrate", "up", "-c", str(other)).returncode == 0  # one list, merged in order
    assert (tmp_path / "own.db").exists()


def test_config_check_merges_several_files_in_order_and_names_the_file_of_each_problem(tmp_path: Path) -> None:
    kratos, oathkeeper = tmp_path / "kratos.yml", tmp_path / "oathkeeper.yml"
    kratos.write_text(f"dsn: memory\nsecrets:\n  cookie: [{SECRET}]\nserve:\n  public:\n    port: 4433\n")
    oathkeeper.write_text("serve:\n  proxy:\n    port: 4455\n  api:\n    port: many\n")
    result = run("-c", str(kratos), "config", "check", "-c", str(oathkeeper))
    assert (result.returncode, result.stdout) == (2, f"{oathkeeper}:5: serve.api.port: expected int, got 'many'\n")
    oathkeeper.write_text("serve:\n  proxy:\n    port: 4455\n")
    assert run("config", "check", str(kratos), str(oathkeeper)).stdout == "ok\n"


def test_config_check_names_each_ory_key_that_has_no_effect_here(tmp_path: Path) -> None:
    file = tmp_path / "kratos.yml"
    file.write_text(f"dsn: memory\nsecrets:\n  cookie: [{SECRET}]\nciphers:\n  algorithm: xchacha20-poly1305\n"
                    "serve:\n  public:\n    tls:\n      cert:\n        path: /tls/cert.pem\n")
    result = run("config", "check", str(file))
    assert result.returncode == 0 and result.stdout.endswith("ok\n")
    warnings = result.stdout.splitlines()[:-1]
    assert [w.split(": ")[1:3] for w in warnings] == [[f"{file}:4", "ciphers"], [f"{file}:8", "serve.public.tls"]]
    assert all(w.startswith("warning: ") for w in warnings)


def test_migrate_on_an_unreachable_database_exits_1_with_the_masked_dsn_and_the_reason() -> None:
    port = closed_port()
    result = run("migrate", "up", "--dsn", f"postgres://u:secret@127.0.0.1:{port}/x")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"cannot reach the database postgres://u:***@127.0.0.1:{port}/x: "
        "ConnectionRefusedError: [Errno 111] Connection refused")
    assert "secret" not in result.stdout + result.stderr


def test_migrate_on_an_unusable_sqlite_path_exits_1(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("not a directory")
    result = run("migrate", "up", "--dsn", f"sqlite://{tmp_path}/afile/gk.db")
    assert result.returncode == 1
    assert result.stderr.startswith(f"cannot reach the database sqlite://{tmp_path}/afile/gk.db: ")
    assert "Traceback" not in result.stderr


def test_a_migration_the_database_refuses_exits_1_and_applies_nothing(tmp_path: Path) -> None:
    db = tmp_path / "gk.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE throttle_counters (something_else TEXT)")  # in the way of 0001
    result = run("migrate", "up", "--dsn", f"sqlite://{db}")
    assert result.returncode == 1
    assert result.stderr.startswith(f"migrate up failed on sqlite://{db}: ")
    assert "throttle_counters already exists" in result.stderr and "Traceback" not in result.stderr
    status = run("migrate", "status", "--dsn", f"sqlite://{db}")
    assert all(line.split()[1] == "pending" for line in status.stdout.splitlines())


@pytest.mark.parametrize("dsn", ["garbage", "mysql://u:secret@h/db"])
def test_migrate_with_an_invalid_dsn_exits_2(dsn: str) -> None:
    result = run("migrate", "up", "--dsn", dsn)
    assert result.returncode == 2 and result.stderr.startswith("invalid --dsn: ")
    assert "secret" not in result.stderr


@pytest.mark.parametrize("alg", ["RS256", "ES256", "ES512", "EdDSA", "PS384", "HS256"])
def test_credentials_generate_prints_a_private_jwks_that_signs_and_verifies(alg: str) -> None:
    """Oathkeeper's `credentials generate --alg`: one private signing key; its public half verifies."""
    result = run("credentials", "generate", "--alg", alg, "--kid", "k-1")
    assert result.returncode == 0, result.stderr
    (key,) = json.loads(result.stdout)["keys"]
    assert (key["use"], key["kid"], key["alg"]) == ("sig", "k-1", alg)
    token = jwt.encode({"sub": "alice"}, jwt.PyJWK(key).key, algorithm=alg, headers={"kid": "k-1"})
    public = public_jwks([key])
    verifier = jwt.PyJWK(public[0]).key if public else jwt.PyJWK(key).key  # an HMAC key has no public half
    assert jwt.decode(token, verifier, algorithms=[alg])["sub"] == "alice"


def test_credentials_generate_picks_a_kid_and_refuses_what_oathkeeper_refuses() -> None:
    first, second = (json.loads(run("credentials", "generate", "--alg", "ES256").stdout) for _ in range(2))
    assert first["keys"][0]["kid"] != second["keys"][0]["kid"]
    for args, message in ((["--alg", "RS256", "--bits", "1024"], "at least 2048 bit"),
                          (["--alg", "ES256", "--bits", "384"], "does not support arbitrary key length"),
                          (["--alg", "XS256"], "unknown algorithm was requested"), ([], 'flag(s) "alg" not set')):
        refused = run("credentials", "generate", *args)
        assert refused.returncode == 1 and message in refused.stderr and refused.stdout == ""


async def test_a_generated_jwks_signs_the_id_token_mutators_tokens(tmp_path: Path) -> None:
    keys = tmp_path / "jwks.json"
    keys.write_text(run("credentials", "generate", "--alg", "ES256", "--kid", "gen-1").stdout)
    rules = [rule("r", "http://<.*>/p", authenticators=("anonymous",), mutators=(("id_token", {}),))]
    overrides = {"authenticators": {"anonymous": {"enabled": True}}, "mutators": {"id_token": {
        "enabled": True, "config": {"issuer_url": "https://gk.example", "jwks_url": f"file://{keys}"}}}}
    async with access_instance(access_config(tmp_path, rules, overrides)) as gk, httpx.AsyncClient() as client:
        decided = await client.get(f"{gk.api}/decisions/p")
        published = (await client.get(f"{gk.api}/.well-known/jwks.json")).json()["keys"]
    assert [k["kid"] for k in published] == ["gen-1"] and "d" not in published[0]
    token = decided.headers["authorization"].removeprefix("Bearer ")
    assert jwt.get_unverified_header(token)["kid"] == "gen-1"
    claims = jwt.decode(token, jwt.PyJWK(published[0]).key, algorithms=["ES256"], issuer="https://gk.example",
                        options={"verify_aud": False})
    assert claims["sub"] == "anonymous"


def test_lint_lint_as_kratos_passes_mappers_and_names_each_problem(tmp_path: Path) -> None:
    """Kratos' `lint lint FILES`: static errors by file:line:column, exit 1; runtime inputs are not needed."""
    good = tmp_path / "oidc.jsonnet"
    good.write_text("local claims = std.extVar('claims');\n{ identity: { traits: { email: claims.email } } }\n")
    (tmp_path / "hook.jsonnet").write_text("function(ctx) { user: ctx.identity.id }\n")
    assert run("lint", "lint", str(tmp_path / "*.jsonnet")).returncode == 0
    assert run("jsonnet", "lint", str(good)).returncode == 0
    (tmp_path / "unbound.jsonnet").write_text("local c = std.extVar('claims');\n{ email: claims.email }\n")
    (tmp_path / "broken.jsonnet").write_text("{ identity: { traits: {} }\n")
    result = run("lint", "lint", str(tmp_path / "*.jsonnet"), str(tmp_path / "missing-*.jsonnet"))
    assert result.returncode == 1 and result.stdout == ""
    assert f"{tmp_path}/unbound.jsonnet:2:10-16: Unknown variable: claims" in result.stderr
    assert f"{tmp_path}/broken.jsonnet:2:1:" in result.stderr
    assert f"{tmp_path}/missing-*.jsonnet: no file matches" in result.stderr
    assert result.stderr.rstrip().endswith("Linter found issues.") and "oidc.jsonnet" not in result.stderr


def test_hashers_argon2_hash_times_each_password_with_the_flags_given() -> None:
    result = run("hashers", "argon2", "hash", "one", "two", "--memory", "1MB", "--iterations", "2", "--parallel")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["password 0", "password 1", "total"]
    assert run("hashers", "argon2", "hash", "x", "--memory", "lots").returncode == 2


def test_hashers_argon2_calibrate_recommends_a_config_gatekeeper_accepts(tmp_path: Path) -> None:
    """Kratos' calibrate: probes memory then iterations around --min-duration, then load tests; stdout holds
    only the answer (the recommended `hashers.argon2`, or every measurement when none looked good)."""
    config = tmp_path / "gk.yaml"
    config.write_text("hashers: {argon2: {parallelism: 1, key_length: 16}}\n")
    result = run("hashers", "argon2", "calibrate", "240", "-c", str(config), "--start-memory", "1MB",
                 "--adjust-memory-by", "1MB", "--min-duration", "8ms", "--expected-deviation", "2s",
                 "--sample-time", "500ms", "--probe-runs", "1", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert "Settled on" in result.stderr and "of memory." in result.stderr and "iterations." in result.stderr
    answer = json.loads(result.stdout)
    recommended = answer if isinstance(answer, dict) else answer[-1]
    assert recommended["parallelism"] == 1 and recommended["key_length"] == 16
    assert recommended["expected_duration"] == "8ms" and recommended["expected_deviation"] == "2s"
    check = tmp_path / "recommended.yaml"
    check.write_text(yaml.safe_dump({"hashers": {"algorithm": "argon2", "argon2": {
        k: recommended[k] for k in ("memory", "iterations", "parallelism", "salt_length", "key_length",
                                    "expected_duration", "expected_deviation", "dedicated_memory")}}}))
    assert run("config", "check", str(check), "--dev").returncode == 0


def test_hashers_argon2_load_test_prints_kratos_columns() -> None:
    result = run("hashers", "argon2", "load-test", "120", "--memory", "1MB", "--sample-time", "500ms")
    assert result.returncode == 0, result.stderr
    rows = [[cell for cell in line.split("\t") if cell] for line in result.stdout.splitlines()]
    assert [r[0] for r in rows][-6:] == ["TOTAL SAMPLE TIME", "MEDIAN REQUEST TIME", "STANDARD DEVIATION",
                                         "MIN REQUEST TIME", "MAX REQUEST TIME", "MEMORY USED"]
    assert rows[0] == ["MEMORY", "1MB"]


def test_health_asks_a_running_instance_as_oathkeepers_cli_does(tmp_path: Path) -> None:
    with ready_gatekeeper(tmp_path) as running:
        api = running.urls["api"]
        for check in ("alive", "ready"):
            result = run("health", "-e", api, check)
            assert (result.returncode, result.stdout) == (0, '{\n\t"status": "ok"\n}\n')
        assert run("health", "alive", "--endpoint", api).returncode == 0  # the flag after the check too
    gone = run("health", "-e", api, "ready")
    assert gone.returncode == 1 and "cannot reach" in gone.stderr
    assert run("health", "alive").returncode == 1  # no endpoint: Oathkeeper's message, exit 1


def test_every_command_takes_config_files_as_a_repeatable_option() -> None:
    """`-c` is one list on every command (before and after the command merge), never a single value."""
    kinds: dict[str, list[str]] = {"list": [], "single": []}

    def walk(parser: argparse.ArgumentParser, at: str) -> None:
        for action in parser._actions:
            if "--config" in action.option_strings:
                kinds["list" if isinstance(action, argparse._AppendAction) else "single"].append(at)
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, f"{at} {name}".strip())

    walk(cli._parser(), "")
    assert kinds["single"] == [] and {"", "serve", "config check", "migrate up", "check"} <= set(kinds["list"])
