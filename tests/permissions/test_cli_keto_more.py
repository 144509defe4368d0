"""Keto's `expand`, `relation-tuple parse|delete-all` and `namespace validate` on the config's database, as Keto's
CLI prints them; `status` against a running gatekeeper."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.permissions.test_cli import config_file, run  # noqa: F401 (the fixture)
from tests.permissions.test_sdk import OPL
from tests.support.process import ready_gatekeeper

TUPLES = """// who sees the plan
File:plan#viewers@(Group:devs#members)

   Group:devs#members@ada  \n Group:devs#members@bob
"""


def create_parsed(capsys: pytest.CaptureFixture[str], tmp_path: Path, config: str) -> None:
    """TUPLES parsed to JSON, then created: the pipe Keto's docs show (`parse --format json | create -`)."""
    source = tmp_path / "tuples.txt"
    source.write_text(TUPLES)
    parsed = tmp_path / "tuples.json"
    parsed.write_text(run(capsys, "relation-tuple", "parse", str(source), "--format", "json")[1])
    assert run(capsys, "relation-tuple", "create", str(parsed), "-c", config)[0] == 0


def test_parse_prints_keto_text_tuples_as_a_table_or_json(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "tuples.txt"
    source.write_text(TUPLES)
    code, out, _ = run(capsys, "relation-tuple", "parse", str(source))
    assert code == 0
    assert [line.split() for line in out.splitlines()] == [
        ["NAMESPACE", "OBJECT", "RELATION", "NAME", "SUBJECT"], ["File", "plan", "viewers", "Group:devs#members"],
        ["Group", "devs", "members", "ada"], ["Group", "devs", "members", "bob"]]
    code, out, _ = run(capsys, "relation-tuple", "parse", str(source), "--format", "json")
    assert json.loads(out)[0] == {"namespace": "File", "object": "plan", "relation": "viewers",
                                  "subject_set": {"namespace": "Group", "object": "devs", "relation": "members"}}

    monkeypatch.setattr("sys.stdin", io.StringIO("Group:devs#members@eve\n"))
    code, out, _ = run(capsys, "relation-tuple", "parse", "-", "-q")
    assert (code, out) == (0, "Group\n")  # one tuple: a row, whose first column is all -q prints

    monkeypatch.setattr("sys.stdin", io.StringIO("Group:devs#members@eve\nGroup:devs@eve\n"))
    code, out, err = run(capsys, "relation-tuple", "parse", "-")
    assert (code, out) == (1, "")
    assert err.startswith("Could not decode stdin:2\n  Group:devs@eve\n\nmalformed string input")


def test_parsed_tuples_create_then_expand_as_keto_draws_the_tree(config_file: str, tmp_path: Path,  # noqa: F811
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    create_parsed(capsys, tmp_path, config_file)

    code, out, _ = run(capsys, "expand", "viewers", "File", "plan", "-c", config_file)
    assert code == 0
    assert out == ("or :#@File:plan#viewers\n"
                   "└──or :#@Group:devs#members\n"
                   "   ├──∋ :#@ada\ufe0f\n"
                   "   └──∋ :#@bob\ufe0f\n")
    code, out, _ = run(capsys, "expand", "viewers", "File", "plan", "--max-depth", "1", "--format", "json",
                       "-c", config_file)
    assert json.loads(out) == {"type": "leaf", "tuple": {"namespace": "", "object": "", "relation": "", "subject_set":
                                                         {"namespace": "File", "object": "plan",
                                                          "relation": "viewers"}}}

    assert run(capsys, "expand", "viewers", "File", "nothing", "--format", "json", "-c", config_file)[1] == "null\n"
    code, out, _ = run(capsys, "expand", "viewers", "File", "nothing", "-c", config_file)
    assert (code, out) == (0, "Got an empty tree. This probably means that the requested relation tuple is not "
                              "present in Keto.\n")
    code, _, err = run(capsys, "expand", "viewers", "Nope", "plan", "-c", config_file)
    assert code == 1 and "Unknown namespace with name 'Nope'" in err


def test_delete_all_lists_what_it_would_delete_until_forced(config_file: str, tmp_path: Path,  # noqa: F811
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    create_parsed(capsys, tmp_path, config_file)

    code, out, _ = run(capsys, "relation-tuple", "delete-all", "--namespace", "Group", "-c", config_file)
    warning, _, listed = out.partition("These tuples would be deleted:\n\n")
    assert code == 0 and warning.startswith("WARNING: This operation is not reversible. Please use the `--force`")
    assert [t["subject_id"] for t in json.loads(listed)["relation_tuples"]] == ["ada", "bob"]

    code, out, _ = run(capsys, "relation-tuple", "delete-all", "--namespace", "Group", "--subject-id", "ada",
                       "--force", "-c", config_file)
    assert (code, out) == (0, "")
    code, out, _ = run(capsys, "relation-tuple", "get", "--namespace", "Group", "-c", config_file)
    assert [t["subject_id"] for t in json.loads(out)["relation_tuples"]] == ["bob"]
    code, _, err = run(capsys, "relation-tuple", "delete-all", "--force", "-c", config_file)
    assert code == 1 and "a namespace is required" in err


def test_namespace_validate_names_each_problem_with_its_place(config_file: str, tmp_path: Path,  # noqa: F811
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "namespace", "validate", str(OPL)) == (0, "Congrats, all files are valid!\n", "")
    assert run(capsys, "namespace", "validate", "-c", config_file)[0] == 0
    broken = tmp_path / "broken.ts"
    broken.write_text("class User implements Namespace {}\nclass Doc implements Namespace {\n  related: {\n"
                      "    owners: Nobody[]\n  }\n}\n")
    legacy = tmp_path / "ns.yaml"
    legacy.write_text("id: 1\n")
    code, out, err = run(capsys, "namespace", "validate", str(OPL), str(broken), str(legacy))
    assert (code, out) == (1, "")
    assert f"{broken}:4:" in err and "Nobody" in err
    assert f"{legacy}: expected a namespace" in err


def test_status_asks_a_running_instance_as_keto_does(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KETO_")}

    def status(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "gatekeeper.cli", "status", *args], capture_output=True,
                              text=True, timeout=60, env=env)

    with ready_gatekeeper(tmp_path) as running:
        api, admin = (running.urls[name].removeprefix("http://") for name in ("api", "admin"))
        result = status("--read-remote", api)
        assert (result.returncode, result.stdout, result.stderr) == (0, "SERVING\n", "")
        env["KETO_WRITE_REMOTE"] = admin
        assert status("--endpoint", "write", "--block").stdout == "SERVING\n"
    gone = status("--read-remote", api)
    assert gone.returncode == 1 and f"cannot reach {api}" in gone.stderr
    env.pop("KETO_WRITE_REMOTE")
    assert "neither flag --write-remote nor env var KETO_WRITE_REMOTE are set" in status("--endpoint", "write").stderr
