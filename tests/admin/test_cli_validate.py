"""Kratos' `validate identity FILES`: identity import files checked against the API's body and their identity schema
(the config's, or the one a running instance serves), problems printed as Kratos prints them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.admin.conftest import person
from tests.admin.test_cli import cli, config_file
from tests.support.servers import Instance

HEADER = "The configuration contains values or keys which are invalid:"


async def test_valid_files_and_stdin_pass(tmp_path: Path, sqlite_dsn: str) -> None:
    cfg = config_file(tmp_path, sqlite_dsn)
    many = tmp_path / "many.json"
    many.write_text(json.dumps([person("a@validate.test"), person("b@validate.test", state="inactive")]))
    one = tmp_path / "one.json"
    one.write_text(json.dumps(person("c@validate.test", credentials={"password": {"config": {"password": "x"}}})))
    assert await cli("validate", "identity", str(many), str(one), "-c", cfg) == (
        0, "All identity files are valid.\n", "")
    stdin = json.dumps(person("d@validate.test")).encode()
    assert await cli("validate", "-c", cfg, "identity", stdin=stdin) == (0, "All identity files are valid.\n", "")


async def test_each_problem_is_named_with_its_key_and_the_exit_code_is_1(tmp_path: Path, sqlite_dsn: str) -> None:
    cfg = config_file(tmp_path, sqlite_dsn)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([person("ok@validate.test"), person("not-an-email", state="sleeping", color="red")]))
    code, out, err = await cli("validate", "identity", str(bad), "-c", cfg)
    assert (code, out) == (1, "")
    assert f"{bad}[0]" not in err
    assert err.startswith(f"{bad}[1]: not valid\n{HEADER}\n")
    assert '\nstate: sleeping\n       ^-- value must be one of "active", "inactive"\n' in err
    assert 'additionalProperties "color" not allowed' in err
    assert '\ntraits.email: not-an-email\n              ^-- "not-an-email" is not valid "email"\n' in err

    nameless = tmp_path / "nameless.json"
    nameless.write_text(json.dumps({"traits": {"email": "x@validate.test"}}))
    code, _, err = await cli("validate", "identity", str(nameless), "-c", cfg)
    assert code == 1
    assert "schema_id: <nil>\n" in err and "^-- one or more required properties are missing" in err
    assert f'{nameless}[0]: Expected key "schema_id" to be defined in identity file' in err
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({**person("x@validate.test"), "schema_id": "other"}))
    code, _, err = await cli("validate", "identity", str(unknown), "-c", cfg)
    assert code == 1 and f'{unknown}[0]: Could not fetch schema with ID "other"' in err
    code, _, err = await cli("validate", "identity", str(tmp_path / "missing.json"), "-c", cfg)
    assert code == 1 and "missing.json: Could not open identity file" in err


async def test_the_schema_of_a_running_instance(gk: Instance, tmp_path: Path) -> None:
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(person("e@validate.test")))
    bad.write_text(json.dumps(person("e")))
    assert (await cli("validate", "identity", str(good), "-e", gk.public))[0] == 0
    code, _, err = await cli("validate", "identity", str(bad), env={"KRATOS_ADMIN_URL": gk.public})
    assert code == 1 and "traits.email: e\n" in err and "^-- length must be >= 3, but got 1" in err
