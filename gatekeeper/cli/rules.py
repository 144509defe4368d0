"""`gatekeeper rules lint|test|explain`: check rule files, run request fixtures, explain a match (gatekeeper's);
`rules get|list` ask a running API as Oathkeeper's CLI does (rules_remote)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gatekeeper.access.fixtures import run_fixtures
from gatekeeper.access.global_config import global_config_problems
from gatekeeper.access.tooling import explain, load, rule_files, tool_config, view_for
from gatekeeper.cli.rules_remote import add_endpoint_flag, register_actions
from gatekeeper.cli.runtime import add_config_option, run_async
from gatekeeper.errors import GatekeeperError


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `rules` command group."""
    rules = commands.add_parser("rules", help="access rule tooling: lint, test, explain; get, list (Oathkeeper's)")
    add_endpoint_flag(rules, inherit=False)
    actions = rules.add_subparsers(metavar="ACTION", required=True)
    register_actions(actions)

    def common(parser: argparse.ArgumentParser) -> None:
        add_config_option(parser, "config file(s) (handler sections, matching strategy); default: every handler on")
        parser.add_argument("--matching-strategy", choices=("glob", "regexp"),
                            help="override access_rules.matching_strategy")

    lint = actions.add_parser("lint", help="parse and validate rules; report overlaps and unreachable rules")
    lint.add_argument("paths", nargs="*", help="rule files or directories (default: the config's repositories)")
    common(lint)
    lint.set_defaults(run=_lint)

    test = actions.add_parser("test", help="run request fixtures through the real pipeline")
    test.add_argument("fixtures", help="fixtures YAML (see gatekeeper.access.fixtures)")
    common(test)
    test.set_defaults(run=_test)

    explain = actions.add_parser("explain", help="which rule matches a request, and why the others do not")
    explain.add_argument("method")
    explain.add_argument("url")
    explain.add_argument("-H", "--header", action="append", default=[], help="request header 'Name: value'")
    explain.add_argument("--rules", action="append", default=[], help="rule file or directory (repeatable)")
    common(explain)
    explain.set_defaults(run=_explain)


def _lint(args: argparse.Namespace) -> int:
    config = tool_config(args.config, args.matching_strategy)
    files = rule_files(args.paths, config)
    if not files:
        print("no rule files given or configured", file=sys.stderr)
        return 1
    loaded = load(files, config)
    problems = loaded.problems + (global_config_problems(config) if args.config else [])
    for problem in sorted(problems, key=lambda p: (p.file, p.line or 0)):
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) in {len(files)} file(s)", file=sys.stderr)
        return 1
    print(f"ok: {len(loaded.rules)} rule(s) in {len(files)} file(s)")
    return 0


def _test(args: argparse.Namespace) -> int:
    config = tool_config(args.config, args.matching_strategy)
    failures, problems = run_async(run_fixtures(Path(args.fixtures), config))
    for line in problems + failures:
        print(line)
    if problems or failures:
        return 1
    print("ok: every fixture passed")
    return 0


def _explain(args: argparse.Namespace) -> int:
    config = tool_config(args.config, args.matching_strategy)
    loaded = load(rule_files(args.rules, config), config)
    for problem in loaded.problems:
        print(f"warning: {problem}", file=sys.stderr)
    if loaded.ruleset is None:
        return 1
    headers = []
    for item in args.header:
        name, sep, value = item.partition(":")
        if not sep:
            print(f"invalid header {item!r}: expected 'Name: value'", file=sys.stderr)
            return 2
        headers.append((name.strip(), value.strip()))
    try:
        view = view_for(args.method, args.url, headers)
    except GatekeeperError as exc:
        print(f"the request is refused before matching ({exc.status}): {exc.reason or exc.message}")
        return 1
    verdicts = explain(loaded.ruleset, view)
    print(f"{view.method} {view.url}")
    for v in verdicts:
        print(f"  {'MATCH' if v.matched else 'no   '} {v.rule.id or '<unnamed>'}: {v.why}")
    matched = [v for v in verdicts if v.matched]
    if not matched:
        print("=> no rule matches: 404")
    elif len(matched) > 1:
        print("=> several rules match: 500 (Expected exactly one rule but found multiple rules)")
    else:
        print(f"=> rule {matched[0].rule.id!r}")
    return 0 if len(matched) == 1 else 1
