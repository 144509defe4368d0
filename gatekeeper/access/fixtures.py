"""`gatekeeper rules test FIXTURES.yaml`: requests and what must happen to them, run through the real
pipeline in-process. A fixture may declare sessions (token -> Kratos session JSON); only then is a fake
session service used.

    rules: [rules/demo.yaml]          # optional: else the config's repositories
    sessions: {alice-token: {identity: {id: user-1, traits: {email: a@example.com}}}}
    cases:
      - name: signed-in users reach the app
        request: {method: GET, url: "http://127.0.0.1:4455/", headers: {Cookie: ory_kratos_session=alice-token}}
        expect: {rule: demo-app, decision: allow, status: 200, headers: {X-User-Id: user-1}}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gatekeeper.access.metrics import AccessMetrics
from gatekeeper.access.pipeline import Pipeline
from gatekeeper.access.tooling import deps, load, rule_files, view_for
from gatekeeper.config import Config
from gatekeeper.config.convert import build
from gatekeeper.config.problems import ConfigProblem
from gatekeeper.errors import GatekeeperError
from gatekeeper.observe import Metrics
from gatekeeper.yamlpos import YamlError
from gatekeeper.yamlpos import load as load_yaml


@dataclass(frozen=True)
class Request:
    url: str
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    client_ip: str = "127.0.0.1"


@dataclass(frozen=True)
class Expect:
    rule: str | None = None
    decision: str | None = None
    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    absent_headers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Case:
    request: Request
    expect: Expect
    name: str = ""


@dataclass(frozen=True)
class Fixtures:
    cases: tuple[Case, ...]
    rules: tuple[str, ...] = ()
    sessions: Mapping[str, Any] = field(default_factory=dict)


class _Sessions:
    def __init__(self, sessions: Mapping[str, Any]) -> None:
        self.sessions = sessions

    async def session_for_token(self, token: str) -> Mapping[str, Any] | None:
        doc = self.sessions.get(token)
        return {"active": True, **doc} if isinstance(doc, Mapping) else None


async def run_fixtures(path: Path, config: Config) -> tuple[list[str], list[str]]:
    """Returns (failures, problems). Every message names the fixture file and line."""
    try:
        data, source = load_yaml(path.read_text(encoding="utf-8"), str(path))
    except (OSError, YamlError) as exc:
        return [], [f"{path}: cannot read fixtures: {exc}"]
    problems: list[ConfigProblem] = []
    fixtures = build(Fixtures, data, at="", source=source, problems=problems)
    if problems:
        return [], [str(p) for p in problems]
    base = path.parent
    files = rule_files([str((base / r) if not Path(r).is_absolute() else r) for r in fixtures.rules], config)
    handler_deps = deps()
    if fixtures.sessions:
        handler_deps.session_source = _Sessions(fixtures.sessions)
    loaded = load(files, config, handler_deps)
    if loaded.ruleset is None or loaded.problems:
        return [], [str(p) for p in loaded.problems]
    ruleset = loaded.ruleset
    pipeline = Pipeline(lambda: ruleset, AccessMetrics(Metrics().registry), "test")
    failures = []
    for i, case in enumerate(fixtures.cases):
        where = f"{path}:{source.line(f'cases.{i}') or '?'}: {case.name or f'case {i}'}"
        req = case.request
        try:
            view = view_for(req.method, req.url, list(req.headers.items()), req.client_ip)
        except GatekeeperError as exc:
            status, rule_id, decision, headers = exc.status, None, "deny", {}
        else:
            verdict = await pipeline.run(view)
            rule_id = verdict.rule.id if verdict.rule else None
            if verdict.error is None and verdict.session is not None:
                status, decision, headers = 200, "allow", dict(verdict.session.header)
            else:
                status, decision, headers = verdict.error.status if verdict.error else 500, "deny", {}
        failures += [f"{where}: {m}" for m in _compare(case.expect, rule_id, decision, status, headers)]
    await handler_deps.http.aclose()
    return failures, []


def _compare(expect: Expect, rule_id: str | None, decision: str, status: int, headers: dict[str, str]) -> list[str]:
    out = []
    if expect.rule is not None and expect.rule != rule_id:
        out.append(f"expected rule {expect.rule!r}, matched {rule_id!r}")
    if expect.decision is not None and expect.decision != decision:
        out.append(f"expected decision {expect.decision}, got {decision}")
    if expect.status is not None and expect.status != status:
        out.append(f"expected status {expect.status}, got {status}")
    lower = {k.lower(): v for k, v in headers.items()}
    for name, value in expect.headers.items():
        if lower.get(name.lower()) != str(value):
            out.append(f"expected upstream header {name}: {value!r}, got {lower.get(name.lower())!r}")
    for name in expect.absent_headers:
        if name.lower() in lower:
            out.append(f"expected no upstream header {name}, got {lower[name.lower()]!r}")
    return out
