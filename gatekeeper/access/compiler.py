"""Compile parsed rules into a frozen `RuleSet`: patterns, handler configs (global merged with the
rule's, validated into each handler's dataclass), handler instances, templates, managed headers.
Problems name the file, line, rule id and key; provable overlaps between rules are problems too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from gatekeeper.access.catalog import HANDLERS
from gatekeeper.access.errors.base import ErrorHandler
from gatekeeper.access.handlers import Deps, deep_merge, header_key
from gatekeeper.access.matcher import Pattern, PatternError, Strategy, compile_match, overlap
from gatekeeper.access.rules import HandlerRef, LoadedRule, RuleError
from gatekeeper.access.template import TemplateError
from gatekeeper.config import Config
from gatekeeper.config.access import HandlerSection
from gatekeeper.config.convert import build
from gatekeeper.config.problems import ConfigProblem

SECTION = {"authenticators": "authenticators", "authorizers": "authorizers", "mutators": "mutators",
           "errors": "errors"}


@dataclass(frozen=True, slots=True)
class CompiledRule:
    id: str
    loaded: LoadedRule
    pattern: Pattern
    authenticators: tuple[tuple[str, Any], ...]
    authorizer: tuple[str, Any]
    mutators: tuple[tuple[str, Any], ...]
    errors: tuple[tuple[str, ErrorHandler], ...]
    upstream_url: str
    upstream_base_path: str
    preserve_host: bool
    strip_path: str
    managed_headers: frozenset[bytes]  # header_key spellings, latin-1

    @property
    def handler_names(self) -> str:
        names = [n for n, _ in self.authenticators] + [self.authorizer[0]] + [n for n, _ in self.mutators]
        return ",".join(names)


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[CompiledRule, ...]
    by_method: Mapping[str, tuple[CompiledRule, ...]]
    fallback: tuple[tuple[str, ErrorHandler], ...]
    managed_headers: frozenset[bytes]  # header_key spellings, latin-1
    strategy: Strategy

    def find(self, method: str, url: str, header_get: Any) -> list[tuple[CompiledRule, Any]]:
        """Every rule matching; the caller wants exactly one."""
        out = []
        for rule in self.by_method.get(method, ()):
            m = rule.pattern.match(url, header_get)
            if m is not None:
                out.append((rule, m))
        return out

    def by_id(self, rule_id: str) -> CompiledRule | None:
        return next((r for r in self.rules if r.id == rule_id), None)


def handler_section(config: Config, kind: str, name: str) -> HandlerSection | None:
    """`<kind>.<name>` as configured; `errors.handlers.json` is on unless switched off (as in Oathkeeper)."""
    if kind == "errors":
        section = config.errors.handlers.get(name)
        if name == "json" and "errors.handlers.json.enabled" not in config.source.lines:
            return HandlerSection(enabled=True, config=section.config if section else {})  # on by default
        return section
    sections: Mapping[str, HandlerSection] = getattr(config, SECTION[kind])
    return sections.get(name)


class _Compiler:
    def __init__(self, config: Config, deps: Deps) -> None:
        self.config, self.deps = config, deps
        self.problems: list[ConfigProblem] = []

    def handler(self, kind: str, ref: HandlerRef, rule: LoadedRule | None, key: str) -> tuple[str, Any] | None:
        def add(subkey: str, message: str) -> None:
            path = f"{key}.{subkey}" if subkey else key
            if rule is None:
                self.problems.append(ConfigProblem(self.config.source.file(path), self.config.source.line(path), path,
                                                   message))
            else:
                self.problems.append(rule.problem(path, message))

        registration = HANDLERS[kind].get(ref.handler)
        if registration is None:
            known = ", ".join(sorted(HANDLERS[kind]))
            add("handler", f"unknown {kind[:-1]} {ref.handler!r} (known: {known})")
            return None
        section = handler_section(self.config, kind, ref.handler)
        if section is None or not section.enabled:
            where = f"errors.handlers.{ref.handler}" if kind == "errors" else f"{kind}.{ref.handler}"
            add("handler", f"{ref.handler!r} is not enabled (set {where}.enabled: true)")
            return None
        merged = deep_merge(section.config, ref.config)
        found: list[ConfigProblem] = []
        source = rule.source if rule else self.config.source
        at = f"{rule.at}.{key}.config" if rule else f"{key}.config"
        cfg: Any = build(registration.config, merged, at=at, source=source, problems=found)
        for p in found:
            add("config" + p.path[len(at):], p.message)
        if found:
            return None
        check = getattr(registration.factory, "problems", None)
        extra = check(cfg) if check else []
        for subkey, message in extra:
            add(f"config.{subkey}", message)
        if extra:
            return None
        try:
            return ref.handler, registration.factory(cfg, self.deps)
        except (TemplateError, ValueError) as exc:
            add("config", str(exc))
            return None

    def rule(self, rule: LoadedRule, strategy: Strategy) -> CompiledRule | None:
        spec = rule.spec
        before = len(self.problems)
        pattern = None
        if spec.match is not None and spec.match.url:
            try:
                pattern = compile_match(spec.match.url, spec.match.methods, strategy, dict(spec.match.headers))
            except PatternError as exc:
                self.problems.append(rule.problem("match.url", str(exc)))
        authns = [self.handler("authenticators", h, rule, f"authenticators.{i}")
                  for i, h in enumerate(spec.authenticators)]
        authz = self.handler("authorizers", spec.authorizer, rule, "authorizer") if spec.authorizer else None
        mutators = [self.handler("mutators", h, rule, f"mutators.{i}") for i, h in enumerate(spec.mutators)]
        errors = [self.handler("errors", h, rule, f"errors.{i}") for i, h in enumerate(spec.errors)]
        if len(self.problems) > before or pattern is None or authz is None:
            return None
        managed = {header_key(h).encode("latin-1") for pair in mutators if pair
                   for h in getattr(pair[1], "sets_headers", ())}
        managed |= {header_key(h).encode("latin-1") for h in getattr(authz[1], "sets_headers", ())}
        upstream = urlsplit(spec.upstream.url) if spec.upstream.url else None
        return CompiledRule(
            id=spec.id, loaded=rule, pattern=pattern,
            authenticators=tuple(a for a in authns if a), authorizer=authz,
            mutators=tuple(m for m in mutators if m), errors=tuple(e for e in errors if e),
            upstream_url=f"{upstream.scheme}://{upstream.netloc}" if upstream else "",
            upstream_base_path=upstream.path.rstrip("/") if upstream else "",
            preserve_host=spec.upstream.preserve_host, strip_path=spec.upstream.strip_path,
            managed_headers=frozenset(managed),
        )


def compile_ruleset(rules: Sequence[LoadedRule], config: Config, deps: Deps) -> RuleSet:
    """The whole rule set, or RuleError with every problem (the caller keeps the last good set)."""
    compiler = _Compiler(config, deps)
    strategy: Strategy = config.access_rules.matching_strategy
    compiled = [c for r in rules if (c := compiler.rule(r, strategy)) is not None]
    fallback = [compiler.handler("errors", HandlerRef(name), None, f"errors.fallback.{i}")
                for i, name in enumerate(config.errors.fallback)]
    problems = compiler.problems + overlaps(compiled)
    if problems:
        raise RuleError(problems)
    by_method: dict[str, list[CompiledRule]] = {}
    for rule in compiled:
        for method in rule.pattern.methods:
            by_method.setdefault(method, []).append(rule)
    injected = {header_key(h).encode("latin-1") for h in config.serve.proxy.injected_headers}
    managed = frozenset(injected.union(*(r.managed_headers - {b"authorization", b"cookie"} for r in compiled)))
    return RuleSet(tuple(compiled), {m: tuple(rs) for m, rs in by_method.items()},
                   tuple(f for f in fallback if f), managed, strategy)


def overlaps(rules: Sequence[CompiledRule]) -> list[ConfigProblem]:
    """Pairs of rules that provably match the same request (Oathkeeper would answer 500 for it)."""
    out = []
    for i, a in enumerate(rules):
        for b in rules[i + 1:]:
            example = overlap(a.pattern, b.pattern)
            if example is not None:
                methods = ",".join(sorted(a.pattern.methods & b.pattern.methods))
                where = f"{b.loaded.source.name}:{b.loaded.source.line(b.loaded.at) or '?'}"
                out.append(a.loaded.problem("match.url", f"overlaps rule {b.id!r} ({where}): both match "
                                                         f"{methods} {example}"))
    return out
