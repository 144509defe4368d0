"""The access-rule file format, exactly as Oathkeeper: a JSON or YAML array of rule objects.

`parse_rules(text, name)` returns the rules with the position of every key, or raises `RuleError`
listing every problem as `file:line: <index>.<key> (rule <id>): message`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from gatekeeper.access.matcher import PatternError, split_blocks
from gatekeeper.config.convert import build
from gatekeeper.config.problems import ConfigProblem
from gatekeeper.yamlpos import Source, YamlError, load

_SEMVER = re.compile(r"^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
_TOP_KEYS = ("id", "version", "description", "match", "authenticators", "authorizer", "mutators", "errors",
             "upstream")


class RuleError(ValueError):
    """Rules that cannot be loaded; every problem at once, each with file, line, rule and key."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class HandlerRef:
    handler: str = ""
    config: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Match:
    url: str = ""
    methods: tuple[str, ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Upstream:
    url: str = ""
    preserve_host: bool = False
    strip_path: str = ""


@dataclass(frozen=True)
class RuleSpec:
    id: str = ""
    version: str = ""
    description: str = ""
    match: Match | None = None
    authenticators: tuple[HandlerRef, ...] = ()
    authorizer: HandlerRef | None = None
    mutators: tuple[HandlerRef, ...] = ()
    errors: tuple[HandlerRef, ...] = ()
    upstream: Upstream = field(default_factory=Upstream)


@dataclass(frozen=True)
class LoadedRule:
    """One parsed rule and where it came from."""

    spec: RuleSpec
    source: Source
    at: str  # key path of the rule in its document ("0", "1", ...)

    def problem(self, key: str, message: str) -> ConfigProblem:
        path = f"{self.at}.{key}" if key else self.at
        rule = f" (rule {self.spec.id!r})" if self.spec.id else ""
        return ConfigProblem(self.source.name, self.source.line(path), f"{path}{rule}", message)

    def as_json(self) -> dict[str, Any]:
        """The rule as Oathkeeper's `/rules` API shows it."""
        s = self.spec

        def ref(h: HandlerRef) -> dict[str, Any]:
            return {"handler": h.handler, "config": dict(h.config) or None}

        return {
            "id": s.id, "version": s.version, "description": s.description,
            "match": {"url": s.match.url if s.match else "", "methods": list(s.match.methods) if s.match else []},
            "authenticators": [ref(h) for h in s.authenticators],
            "authorizer": ref(s.authorizer) if s.authorizer else {"handler": "", "config": None},
            "mutators": [ref(h) for h in s.mutators],
            "errors": [ref(h) for h in s.errors],
            "upstream": {"url": s.upstream.url, "preserve_host": s.upstream.preserve_host,
                         "strip_path": s.upstream.strip_path},
        }


def parse_rules(text: str, name: str) -> list[LoadedRule]:
    """Parse a repository document (JSON when it is valid JSON, else YAML, as Oathkeeper sniffs)."""
    try:
        data, source = load(text, name)
    except YamlError as exc:
        raise RuleError([ConfigProblem(exc.name, exc.line, "", f"not valid JSON or YAML: {exc.message}")]) from None
    if data is None:
        return []
    if not isinstance(data, list):
        raise RuleError([ConfigProblem(name, 1, "", "a rule file must be a list of rules")])
    problems: list[ConfigProblem] = []
    rules = []
    for i, raw in enumerate(data):
        at = str(i)
        if not isinstance(raw, Mapping):
            problems.append(ConfigProblem(name, source.line(at), at, "a rule must be a mapping"))
            continue
        known = migrate({k: v for k, v in raw.items() if k in _TOP_KEYS})
        rule_problems: list[ConfigProblem] = []
        spec = build(RuleSpec, known, at=at, source=source, problems=rule_problems)
        rule = LoadedRule(spec, source, at)
        rule_problems = [_with_rule(p, spec.id) for p in rule_problems]
        rule_problems += _validate(rule, raw)
        problems += rule_problems
        rules.append(rule)
    if problems:
        raise RuleError(problems)
    return rules


def _version(text: str) -> tuple[int, int, int, tuple[int, str]] | None:
    m = _SEMVER.match(text)
    if not m:
        return None
    core, _, pre = text.lstrip("v").split("+", 1)[0].partition("-")
    major, minor, patch = (int(x) for x in core.split("."))
    return major, minor, patch, (0, pre) if pre else (1, "")


_HYDRATOR_RETRY_CHANGED = (0, 32, 0, (0, "beta.1"))


def migrate(rule: dict[str, Any]) -> dict[str, Any]:
    """Rewrite what old Oathkeeper versions wrote differently (`version` <= 0.32.0-beta.1: hydrator retry)."""
    version = _version(str(rule.get("version") or ""))
    if version is None or version > _HYDRATOR_RETRY_CHANGED or not isinstance(rule.get("mutators"), list):
        return rule  # a malformed `mutators` is reported as it is written
    mutators = []
    for ref in rule["mutators"]:
        config = ref.get("config") if isinstance(ref, Mapping) else None
        api = config.get("api") if isinstance(config, Mapping) else None
        api = api if isinstance(api, Mapping) else {}
        retry = api.get("retry")
        if isinstance(ref, Mapping) and ref.get("handler") == "hydrator" and isinstance(retry, Mapping) \
                and "number_of_retries" in retry:
            retries, delay = _count(retry.get("number_of_retries")), _count(retry.get("delay_in_milliseconds"))
            if retries is not None and delay is not None:  # else `number_of_retries` is reported as unknown
                api = {**api, "retry": {"give_up_after": f"{retries * delay}ms", "max_delay": f"{delay}ms"}}
                ref = {**ref, "config": {**ref["config"], "api": api}}
        mutators.append(ref)
    return {**rule, "mutators": mutators}


def _count(value: Any) -> int | None:
    """A retry count or delay of an old rule: an integer (None: 0), else None."""
    if value is None:
        return 0
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _with_rule(p: ConfigProblem, rule_id: str) -> ConfigProblem:
    if not rule_id:
        return p
    return ConfigProblem(p.file, p.line, f"{p.path} (rule {rule_id!r})", p.message)


def _parts(url: str) -> list[tuple[bool, str]]:
    try:
        return split_blocks(url)
    except PatternError:
        return []  # reported when the pattern is compiled


def _validate(rule: LoadedRule, raw: Mapping[str, Any]) -> list[ConfigProblem]:
    s, out = rule.spec, []
    if s.version and not _SEMVER.match(s.version):
        out.append(rule.problem("version", f"expected a semantic version such as v26.2.0, got {s.version!r}"))
    match_raw = raw.get("match")
    if isinstance(match_raw, Mapping) and "full_method" in match_raw:
        out.append(rule.problem("match", "gRPC rules (match.full_method) are not supported"))
    elif s.match is None or not s.match.url:
        out.append(rule.problem("match.url", "is required"))
    elif not s.match.methods:
        out.append(rule.problem("match.methods", "is empty: the rule could never match"))
    if s.match and any("?" in text for is_block, text in _parts(s.match.url) if not is_block):
        out.append(rule.problem("match.url", "contains '?': the query string is never matched"))
    if s.upstream.url:
        try:
            parts = urlsplit(s.upstream.url)
        except ValueError:  # "http://[::1"
            parts = urlsplit("")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            out.append(rule.problem("upstream.url", f"expected an http(s) URL, got {s.upstream.url!r}"))
    if not s.authenticators:
        out.append(rule.problem("authenticators", "needs at least one authenticator"))
    if s.authorizer is None or not s.authorizer.handler:
        out.append(rule.problem("authorizer.handler", "is required"))
    if not s.mutators:
        out.append(rule.problem("mutators", "needs at least one mutator"))
    return out
