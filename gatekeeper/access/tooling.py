"""What `gatekeeper rules lint|test|explain` share: load rule files in-process with a config, lint for
rules that can never match, and explain a request against every rule."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import httpx

from gatekeeper.access.catalog import HANDLERS
from gatekeeper.access.compiler import CompiledRule, RuleSet, compile_ruleset
from gatekeeper.access.handlers import Deps
from gatekeeper.access.matcher import split_blocks
from gatekeeper.access.repository import dir_files, locate
from gatekeeper.access.request_view import Headers, RequestView, check_host, clean_path
from gatekeeper.access.rules import LoadedRule, RuleError, parse_rules
from gatekeeper.config import Config, load_config
from gatekeeper.config.access import Errors, HandlerSection
from gatekeeper.config.problems import ConfigProblem
from gatekeeper.jwks import JwksCache


def tool_config(path: str | None, strategy: Literal["glob", "regexp"] | None = None) -> Config:
    """The given config, or (without one) a config in which every handler is enabled, for linting files alone."""
    logging.getLogger("gatekeeper.config").setLevel(logging.ERROR)  # no dev-secret chatter in tool output
    config = load_config(path, dev=True)
    if not path:
        on = {kind: {name: HandlerSection(enabled=True) for name in HANDLERS[kind]} for kind in HANDLERS}
        config = replace(config, authenticators=on["authenticators"], authorizers=on["authorizers"],
                         mutators=on["mutators"], errors=Errors(handlers=on["errors"]))
    if strategy:
        config = replace(config, access_rules=replace(config.access_rules, matching_strategy=strategy))
    return config


def rule_files(paths: Sequence[str], config: Config) -> list[Path]:
    """Files named on the command line (directories expanded), else the config's file repositories."""
    out: list[Path] = []
    sources = list(paths) or [u for u in config.access_rules.repositories]
    for source in sources:
        loc = locate(source if "://" in source else f"file://{Path(source).absolute()}")
        if loc.path is None:
            continue
        out += dir_files(loc.path) if loc.kind == "dir" else [loc.path]
    return out


@dataclass
class Loaded:
    rules: list[LoadedRule] = field(default_factory=list)
    problems: list[ConfigProblem] = field(default_factory=list)
    ruleset: RuleSet | None = None


def deps() -> Deps:
    client = httpx.AsyncClient()
    return Deps(client, None, JwksCache(client))


def load(files: Sequence[Path], config: Config, handler_deps: Deps | None = None) -> Loaded:
    out = Loaded()
    for path in files:
        try:
            out.rules += parse_rules(path.read_text(encoding="utf-8"), str(path))
        except RuleError as exc:
            out.problems += exc.problems
        except OSError as exc:
            out.problems.append(ConfigProblem(str(path), None, "", f"cannot be read: {exc.strerror}"))
    try:
        out.ruleset = compile_ruleset(out.rules, config, handler_deps or deps())
    except RuleError as exc:
        out.problems += exc.problems
    out.problems += unreachable(out.rules)
    return out


def unreachable(rules: Sequence[LoadedRule]) -> list[ConfigProblem]:
    """Rules whose URL no cleaned request path can have (Oathkeeper 26.2 cleans paths before matching)."""
    out = []
    for rule in rules:
        if rule.spec.match is None or not rule.spec.match.url:
            continue
        url = rule.spec.match.url
        try:
            parts = split_blocks(url)
        except ValueError:
            continue
        literal_tail = parts[-1][1] if parts and not parts[-1][0] else ""
        path_literals = [text.split("://", 1)[-1] for is_block, text in parts if not is_block]
        if literal_tail.endswith("/") and not literal_tail.endswith("://") and url.count("/") > 3:
            out.append(rule.problem("match.url", "ends with '/': request paths are cleaned (no trailing slash), "
                                                 "so this rule never matches"))
        elif any(s in lit for lit in path_literals for s in ("//", "/./", "/../")):
            out.append(rule.problem("match.url", "contains '//', '/./' or '/../': cleaned request paths never do"))
    return out


def view_for(method: str, url: str, headers: Sequence[tuple[str, str]], client_ip: str = "127.0.0.1") -> RequestView:
    """The request view of a request described on the command line or in a fixture (same normalisation)."""
    parts = urlsplit(url)
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    return RequestView(method.upper(), parts.scheme or "http", check_host(parts.netloc),
                       clean_path((parts.path or "/").encode("latin-1")), parts.query, Headers(raw), client_ip)


@dataclass
class Verdict:
    rule: CompiledRule
    matched: bool
    why: str


def explain(ruleset: RuleSet, view: RequestView) -> list[Verdict]:
    out = []
    for rule in ruleset.rules:
        pattern = rule.pattern
        if view.method not in pattern.methods:
            out.append(Verdict(rule, False, f"method {view.method} not in {', '.join(sorted(pattern.methods))}"))
            continue
        m = pattern.regex.match(view.url)
        if m is None:
            out.append(Verdict(rule, False, f"{view.url} does not match {pattern.url}"))
            continue
        failing = [name for name, regex in pattern.headers if regex.match(view.headers.get(name)) is None]
        if failing:
            out.append(Verdict(rule, False, f"header(s) {', '.join(failing)} do not match"))
            continue
        groups = f" (captures {list(g or '' for g in m.groups())})" if m.groups() else ""
        out.append(Verdict(rule, True, f"matches{groups}; handlers {rule.handler_names}"))
    return out

