"""`gatekeeper relation-tuple create|get|delete` and `gatekeeper check`, JSON in and out, on the config's database."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from gatekeeper.cli import main
from tests.conftest import TEST_SECRET
from tests.permissions.test_sdk import OPL


@pytest.fixture
def config_file(dsn: str, tmp_path: Path) -> str:
    path = tmp_path / "gatekeeper.yaml"
    path.write_text(f"dsn: {dsn}\nsecrets: {{cookie: [{TEST_SECRET}]}}\nnamespaces:\n  location: file://{OPL}\n")
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_create_get_check_and_delete(config_file: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    tuples = tmp_path / "tuples.json"
    tuples.write_text(json.dumps([
        {"namespace": "Group", "object": "devs", "relation": "members", "subject_id": "ada"},
        {"namespace": "File", "object": "plan", "relation": "viewers",
         "subject_set": {"namespace": "Group", "object": "devs", "relation": "members"}},
    ]))
    code, out, _ = run(capsys, "relation-tuple", "create", str(tuples), "-c", config_file)
    assert code == 0 and len(json.loads(out)) == 2

    code, out, _ = run(capsys, "relation-tuple", "get", "--namespace", "File", "-c", config_file)
    listed = json.loads(out)
    assert listed["next_page_token"] == ""
    assert listed["relation_tuples"][0]["subject_set"] == {"namespace": "Group", "object": "devs",
                                                           "relation": "members"}
    code, out, _ = run(capsys, "relation-tuple", "get", "--subject-set", "Group:devs#members", "-c", config_file)
    assert [t["object"] for t in json.loads(out)["relation_tuples"]] == ["plan"]

    assert json.loads(run(capsys, "check", "ada", "view", "File", "plan", "-c", config_file)[1]) == {"allowed": True}
    assert json.loads(run(capsys, "check", "bob", "view", "File", "plan", "-c", config_file)[1]) == {"allowed": False}
    assert json.loads(run(capsys, "check", "Group:devs#members", "viewers", "File", "plan", "-c",
                          config_file)[1]) == {"allowed": True}

    monkeypatch.setattr("sys.stdin", io.StringIO(
        '{"namespace": "Group", "object": "devs", "relation": "members", "subject_id": "ada"}\n'))
    code, out, _ = run(capsys, "relation-tuple", "delete", "-c", config_file)
    assert code == 0
    assert json.loads(run(capsys, "check", "ada", "view", "File", "plan", "-c", config_file)[1]) == {"allowed": False}


def test_bulk_create_reports_progress_and_bad_input_changes_nothing(config_file: str, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    lines = tmp_path / "many.jsonl"
    lines.write_text("".join(json.dumps({"namespace": "File", "object": f"f{i}", "relation": "owners",
                                         "subject_id": "ada"}) + "\n" for i in range(1200)))
    code, _, err = run(capsys, "relation-tuple", "create", str(lines), "-c", config_file)
    assert code == 0 and "created 500/1200" in err and "created 1200/1200" in err

    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps([{"namespace": "File", "object": "x", "relation": "owners", "subject_id": "eve"},
                                  {"namespace": "Nope", "object": "x", "relation": "owners", "subject_id": "eve"}]))
    code, _, err = run(capsys, "relation-tuple", "create", str(broken), "-c", config_file)
    assert code == 1 and "Unknown namespace with name 'Nope'" in err
    code, out, _ = run(capsys, "relation-tuple", "get", "--subject-id", "eve", "-c", config_file)
    assert json.loads(out)["relation_tuples"] == []
