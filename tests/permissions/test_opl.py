"""The OPL parser reads Keto's TypeScript subset and reports problems at file:line:column."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatekeeper.cli import main
from gatekeeper.config import parse_config
from gatekeeper.permissions.ast import Combine, ComputedSubjectSet, Invert, Operator, SubjectType, TupleToSubjectSet
from gatekeeper.permissions.namespaces import NamespaceFileError, load_namespaces, read_opl_file
from gatekeeper.permissions.opl import parse, syntax_errors

FIXTURE = Path(__file__).parent / "fixtures" / "namespaces.keto.ts"


def test_the_documentation_shaped_model_parses_into_rewrites() -> None:
    namespaces = {ns.name: ns for ns in parse(FIXTURE.read_text())}
    assert list(namespaces) == ["User", "Group", "Folder", "File"]
    assert namespaces["Group"].relations["members"].types == (SubjectType("User"), SubjectType("Group", "members"))
    assert namespaces["File"].relations["viewers"].types == (SubjectType("User"), SubjectType("Group", "members"))
    view = namespaces["Folder"].relations["view"].rewrite
    assert view == Combine(Operator.AND, (
        Combine(Operator.OR, (ComputedSubjectSet("viewers"), ComputedSubjectSet("edit"),
                              TupleToSubjectSet("parents", "view"))),
        Invert(ComputedSubjectSet("banned"))))
    assert syntax_errors(FIXTURE.read_text()) == []


BROKEN = [
    pytest.param("class A implements Namespace {\n  related: { x: B[] }\n}", 2, 16,
                 "namespace 'B' was not declared", id="undeclared type"),
    pytest.param("class A implements Namespace {\n  permits = { v: (ctx) => this.related.x.has(ctx.subject) }\n}", 2,
                 41, "expected 'traverse' or 'includes', got 'has'", id="unknown method"),
    pytest.param("class A implements Namespace {\n  permits = { v: (ctx) => this.permits.w(ctx) }\n}", 2, 39,
                 "namespace 'A' did not declare permission 'w'", id="unknown permission"),
    pytest.param("class A implements Namespace {\n  related: { x: A[] }\n  permits = {\n    v: (ctx) =>\n"
                 "      this.related.x.traverse((p) => p.permits.nope(ctx)),\n  }\n}", 5, 47,
                 "namespace 'A' did not declare relation 'nope'", id="traverse to a missing relation"),
    pytest.param("class A implements Namespace {\n  related: { x: A[] }\n  permits = { v: (ctx) => this.related.x"
                 ".includes(ctx.subject) || }\n}", 3, 66, "expected 'this', '!' or '(', got '}'", id="dangling ||"),
    pytest.param("class A implements Namespace {\n  related: { x: A[] }\n", 3, 0, "expected identifier, got end of "
                 "file ''", id="unclosed class"),
    pytest.param("klass A {}", 1, 0, "expected 'class' or 'import', got 'klass'", id="not a class"),
]


@pytest.mark.parametrize(("text", "line", "column", "message"), BROKEN)
def test_problems_have_their_line_and_column(text: str, line: int, column: int, message: str) -> None:
    errors = syntax_errors(text)
    assert [(e.start.line, e.start.column, e.message) for e in errors][:1] == [(line, column, message)]
    assert errors[0].as_json()["start"] == {"Line": line, "column": column}


def test_a_broken_opl_file_names_file_line_and_column(tmp_path: Path) -> None:
    broken = tmp_path / "namespaces.keto.ts"
    broken.write_text("class A implements Namespace {\n  related: { x: B[] }\n}\n")
    with pytest.raises(NamespaceFileError) as exc:
        read_opl_file(str(broken))
    assert str(exc.value) == f"{broken}:2:16: namespace 'B' was not declared"


def test_namespaces_come_from_the_legacy_list_or_the_opl_location() -> None:
    legacy = parse_config("namespaces:\n  - {id: 0, name: files}\n  - name: groups\n", name="k.yaml", env={}, dev=True)
    assert load_namespaces(legacy.namespaces).names() == ["files", "groups"]
    opl = parse_config(f"namespaces:\n  location: file://{FIXTURE}\n", name="k.yaml", env={}, dev=True)
    assert load_namespaces(opl.namespaces).names() == ["User", "Group", "Folder", "File"]


def test_config_check_reports_a_broken_opl_file_with_line_and_column(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "namespaces.keto.ts"
    broken.write_text("class A implements Namespace {\n  related: { x: B[] }\n}\n")
    config = tmp_path / "gatekeeper.yaml"
    config.write_text(f"namespaces:\n  location: file://{broken}\n")
    assert main(["config", "check", str(config), "--dev"]) == 2
    assert capsys.readouterr().out == f"{broken}:2:16: namespaces.location: namespace 'B' was not declared\n"
