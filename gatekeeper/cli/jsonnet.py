"""`gatekeeper lint lint FILES...` (Kratos' spelling) and `gatekeeper jsonnet lint FILES...`: check Jsonnet files
(mappers, web hook bodies) the way the jsonnet library reads them, without the runtime inputs they need.

Each argument is a glob pattern. A file passes when it parses and its variables are all bound: the static checks
of the reference C++ implementation (gatekeeper evaluates programs with rjsonnet, which checks bindings only while
evaluating, and evaluating needs `std.extVar('claims')` and the like, so runtime errors are not reported).
Kratos' `format jsonnet` has no counterpart: no formatter is installed with gatekeeper.
"""

from __future__ import annotations

import argparse
import glob
import json
import sys

import _jsonnet


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add Kratos' `lint lint` and gatekeeper's `jsonnet lint`."""
    for group, action in (("lint", "lint"), ("jsonnet", "lint")):
        parser = commands.add_parser(group, help="lint Jsonnet files" if group == "jsonnet" else
                                     "helpers for linting code (Kratos' spelling: lint lint FILES)")
        lint = parser.add_subparsers(metavar="ACTION", required=True).add_parser(
            action, help="check that Jsonnet files parse and bind every variable; exit 1 when one does not")
        lint.add_argument("patterns", nargs="+", metavar="FILE", help="files or glob patterns (path/*.jsonnet)")
        lint.set_defaults(run=_lint)


def _lint(args: argparse.Namespace) -> int:
    problems = 0
    for pattern in args.patterns:
        files = sorted(glob.glob(pattern, recursive=True))
        if not files:
            print(f"{pattern}: no file matches", file=sys.stderr)
            problems += 1
        for path in files:
            problem = lint_file(path)
            if problem:
                print(problem, file=sys.stderr)
                problems += 1
    if problems:
        print("Linter found issues.", file=sys.stderr)
        return 1
    return 0


def lint_file(path: str) -> str | None:
    """jsonnet's static error for `path` (`STATIC ERROR: path:line:col: ...`), or None when it has none.

    The file is imported and only its top level evaluated, so jsonnet parses and checks all of it while the
    fields and functions that need runtime inputs stay unevaluated."""
    try:
        with open(path, "rb") as source:
            code = source.read()
    except OSError as exc:
        return f"{path}: unable to read the file: {exc.strerror}"

    def read(_base: str, rel: str) -> tuple[str, bytes]:
        if rel != path:
            raise RuntimeError("imports are not followed while linting")
        return path, code

    try:
        _jsonnet.evaluate_snippet("<lint>", f"std.type(import {json.dumps(path)})", import_callback=read)
    except RuntimeError as exc:
        message = str(exc).strip()
        if not message.startswith("RUNTIME ERROR"):
            return message if message.startswith("STATIC ERROR") else f"{path}: {message}"
    return None
