"""The wiring rules of DESIGN.md section 3 that import-linter does not state: every import of a gatekeeper
module sits at the top of its module (the commands in cli/ may import what a config asks for late, so a process
loads only what it runs), no module reaches into another's private names, and the top-level
packages form no cycle even counting imports made only for type checking."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import gatekeeper

ROOT = Path(gatekeeper.__file__).parent


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, ast.parse(path.read_text(encoding="utf-8"))


def _imports(tree: ast.AST) -> Iterator[tuple[str, list[str]]]:
    """(imported gatekeeper module, imported names) for every import in `tree` (gatekeeper uses no relative
    imports: `test_imports_are_absolute` holds that)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((alias.name, []) for alias in node.names if alias.name.startswith("gatekeeper"))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("gatekeeper"):
            yield node.module or "", [a.name for a in node.names]


def test_imports_are_absolute() -> None:
    relative = [name for name, tree in _modules() for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.level]
    assert relative == []


def test_gatekeeper_modules_are_imported_at_the_top_of_modules_only() -> None:
    late = []
    for name, tree in _modules():
        if name.startswith("gatekeeper.cli."):
            continue
        for function in ast.walk(tree):
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                late += [f"{name}.{function.name} imports {target}" for target, _ in _imports(function)]
    assert late == []


def test_no_module_imports_another_modules_private_names() -> None:
    private = [f"{name} imports {target}.{imported}" for name, tree in _modules()
               for target, names in _imports(tree) for imported in names
               if imported.startswith("_") and not imported.startswith("__")]
    assert private == []


def test_top_level_packages_form_no_cycle_even_counting_type_checking_imports() -> None:
    edges: dict[str, set[str]] = {}
    for name, tree in _modules():
        source = name.split(".")[1] if "." in name else ""
        for target, _ in _imports(tree):
            parts = target.split(".")
            if source and len(parts) > 1 and parts[1] != source:
                edges.setdefault(source, set()).add(parts[1])

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt}))
                   for nxt in edges.get(start, ()))

    assert [package for package in sorted(edges) if reaches(package, package, {package})] == []
