"""`gatekeeper rules lint|test|explain` as an operator runs them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gatekeeper.cli import main
from tests.access.support import rule

ROOT = Path(__file__).resolve().parents[2]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out + out.err


def test_lint_passes_the_shipped_rules(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "rules", "lint", "--config", str(ROOT / "config/dev.yaml"))
    assert code == 0 and "ok: 1 rule(s)" in out


def test_lint_reports_problems_with_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.yaml").write_text(yaml.safe_dump([rule("all", "https://h/<.*>"), rule("x", "https://h/x")]))
    (tmp_path / "b.json").write_text('[{"id": "slash", "match": {"url": "https://h/api/", "methods": ["GET"]},'
                                     ' "authenticators": [{"handler": "noop"}], "authorizer": {"handler": "allow"},'
                                     ' "mutators": [{"handler": "noop"}]}]')
    (tmp_path / "c.yaml").write_text("- id: broken\n  match: {url: 'https://h/c', methods: [GET]}\n")
    code, out = run(capsys, "rules", "lint", str(tmp_path))
    assert code == 1
    assert f"{tmp_path}/a.yaml:" in out and "overlaps rule 'x'" in out
    assert f"{tmp_path}/b.json:1: 0.match.url (rule 'slash'): ends with '/'" in out
    assert f"{tmp_path}/c.yaml:1: 0.authenticators (rule 'broken'): needs at least one authenticator" in out


def test_rules_test_runs_fixtures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "rules", "test", str(ROOT / "rules/tests/demo.yaml"), "-c", str(ROOT / "config/dev.yaml"))
    assert code == 0, out
    fixtures = yaml.safe_load((ROOT / "rules/tests/demo.yaml").read_text())
    fixtures["rules"] = [str(ROOT / "rules/demo.yaml")]
    fixtures["cases"][0]["expect"]["headers"]["X-User-Id"] = "someone-else"
    (tmp_path / "f.yaml").write_text(yaml.safe_dump(fixtures, sort_keys=False))
    code, out = run(capsys, "rules", "test", str(tmp_path / "f.yaml"), "-c", str(ROOT / "config/dev.yaml"))
    assert code == 1
    assert "signed-in visitors reach the demo app" in out and "expected upstream header X-User-Id" in out


def test_explain_names_the_match_and_why_others_do_not(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "r.yaml").write_text(yaml.safe_dump([
        rule("api", "https://h/api/<.*>", methods=("GET",)), rule("web", "https://h/web/<.*>"),
        rule("post-only", "https://h/api/<.*>", methods=("POST",))]))
    code, out = run(capsys, "rules", "explain", "GET", "https://h/api/../api/users", "--rules", str(tmp_path))
    assert code == 0
    assert "GET https://h/api/users" in out
    assert "MATCH api: matches (captures ['users'])" in out
    assert "no    web: https://h/api/users does not match https://h/web/<.*>" in out
    assert "no    post-only: method GET not in POST" in out
    code, out = run(capsys, "rules", "explain", "GET", "https://h/a%2Fb", "--rules", str(tmp_path))
    assert code == 1 and "refused before matching (400)" in out
