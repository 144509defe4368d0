"""Property tests on what rule authors write: rule files, handler configs and templates. Anything malformed is a
load problem naming file, line, rule and key (`RuleError`, `TemplateError`), never another exception; what loads
also matches requests and renders without raising anything but the errors the pipeline turns into answers.

Bounded to run in seconds; `FUZZ_EXAMPLES=3000 pytest tests/access/test_fuzz_rules.py` runs them longer."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gatekeeper.access.catalog import HANDLERS
from gatekeeper.access.compiler import RuleSet, compile_ruleset
from gatekeeper.access.handlers import AuthSession, Deps
from gatekeeper.access.rules import RuleError, parse_rules
from gatekeeper.access.template import TemplateError, compile_template
from gatekeeper.access.tooling import explain, load, tool_config, view_for
from gatekeeper.config import Config
from gatekeeper.errors import GatekeeperError
from gatekeeper.jwks import JwksCache
from gatekeeper.yamlpos import YamlError
from gatekeeper.yamlpos import load as load_yaml

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
NAME = "fuzz.yaml"


def _answer(request: httpx.Request) -> httpx.Response:
    """Every back-end (remote authorizers, hydrator) answers 200 with an echo of the session it got."""
    try:
        doc = json.loads(request.content or b"{}")
    except ValueError:
        doc = {}
    return httpx.Response(200, json=doc if isinstance(doc, dict) else {})


@pytest.fixture(scope="module")
def config() -> Config:
    return tool_config(None)


@pytest.fixture(scope="module")
def deps() -> Iterator[Deps]:
    client = httpx.AsyncClient(transport=httpx.MockTransport(_answer))
    yield Deps(client, None, JwksCache(client))


def compile_text(text: str, config: Config, deps: Deps) -> RuleSet | None:
    """The rule set of `text`, or None when it has problems, each naming this file and a line or key."""
    try:
        return compile_ruleset(parse_rules(text, NAME), config, deps)
    except RuleError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.file == NAME and str(problem).startswith(NAME), problem
            assert problem.line is not None or problem.path == "", problem
        return None


# -- values of every shape -------------------------------------------------------------------------------------

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=10**30), st.floats(allow_nan=False),
    st.text(max_size=12), st.text(alphabet="<>{}[]()*?.,\\!^$|/:-_ aé€\x00\n", max_size=20),
    st.sampled_from(["", "GET", "http://h/", "https://h/<.*>", "http://[::1", "v0.30.0", "10s", "-1s", "{{",
                     "{{ print .Subject }}", "X-Ok", "X Bad", "X-€", "1e999", "x" * 5000]),
)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)


def config_keys(kind: str, name: str) -> list[str]:
    cls = HANDLERS[kind][name].config
    return list(getattr(cls, "__dataclass_fields__", {})) + ["api", "retry", "headers", "unknown"]


@st.composite
def handler_ref(draw: st.DrawFn, kind: str) -> Any:
    """A handler reference of `kind`: a known or unknown handler, its config keys holding any value."""
    name = draw(st.sampled_from([*HANDLERS[kind], "nope", ""]))
    if draw(st.integers(0, 9)) == 0:
        return draw(VALUES)  # not even a mapping
    keys = config_keys(kind, name) if name in HANDLERS[kind] else ["x"]
    cfg = draw(st.dictionaries(st.sampled_from(keys), VALUES, max_size=4))
    return {"handler": name, "config": draw(st.sampled_from([cfg, None, [cfg], "x"])) if draw(
        st.integers(0, 9)) == 0 else cfg}


@st.composite
def near_valid_rule(draw: st.DrawFn) -> Any:
    """A valid rule skeleton whose keys are replaced, at random, by values of any shape."""
    rule: dict[str, Any] = {
        "id": draw(st.sampled_from(["r", "", "r2"])),
        "version": draw(st.sampled_from(["v0.30.0", "v0.40.0", "0.32.0-beta.1"])),
        "match": {"url": draw(st.sampled_from(["http://h/<.*>", "http://h/<**>", "http://h/a", "<"])) + draw(
            st.text(alphabet="<>{}[]()*?.,\\!^$|/:-_ a{}9", max_size=12)),
            "methods": draw(st.lists(st.sampled_from(["GET", "POST", "get"]), min_size=1, max_size=2))},
        "authenticators": [draw(handler_ref("authenticators"))],
        "authorizer": draw(handler_ref("authorizers")),
        "mutators": draw(st.lists(handler_ref("mutators"), min_size=1, max_size=2)),
        "errors": draw(st.lists(handler_ref("errors"), max_size=1)),
        "upstream": {"url": draw(st.sampled_from(["http://u", "", "http://[::1", "ftp://x"])),
                     "preserve_host": draw(st.booleans()), "strip_path": "/a"},
    }
    for _ in range(draw(st.integers(0, 3))):
        key = draw(st.sampled_from([*rule, "match.url", "match.methods", "match.headers", "upstream.url",
                                    "mutators.0.config", "extra_key"]))
        target, _, sub = key.partition(".")
        if sub and isinstance(rule.get(target), dict):
            rule[target][sub] = draw(VALUES)
        elif sub and isinstance(rule.get(target), list) and rule[target] and isinstance(rule[target][0], dict):
            rule[target][0]["config"] = draw(VALUES)
        else:
            rule[target] = draw(VALUES)
    return rule


def dump(doc: Any, as_yaml: bool) -> str:
    return yaml.safe_dump(doc, allow_unicode=True) if as_yaml else json.dumps(doc)


# -- rule files ------------------------------------------------------------------------------------------------

YAMLISH = st.lists(st.sampled_from([
    "- ", "id: a", "match:", " url: ", "http://h/<.*>", "methods: [GET]", "authenticators: [{handler: noop}]",
    "authorizer: {handler: allow}", "mutators:", "- handler: header", "config: {headers: {X: '{{ .Subject }}'}}",
    "&a ", "*a", "<<: *a", "!!binary ", "!!python/object:os.system ", "? ", "[", "]", "{", "}", ":", ",", "'", '"',
    "\n", "  ", "\t", "#", "null", "1e999", "version: v0.1.0", "%YAML 1.1\n---\n", "...", "\x00", "\ufeff",
]), max_size=30).map("".join)


@FUZZ
@given(st.one_of(st.text(max_size=200), YAMLISH, st.binary(max_size=100).map(lambda b: b.decode("utf-8", "replace"))))
@example("&a [*a]")  # a recursive alias: was a RecursionError
@example("&a {x: *a}")
@example("[" * 3000 + "]" * 3000)  # deeper than the YAML composer recurses
@example("- &a [*a, *a, *a]\n- &b [*a, *a, *a]\n- [*b, *b, *b]")  # aliases are indexed once
@example('- {version: v0.30.0, mutators: [x]}')  # old rules were migrated before being checked: AttributeError
@example('- {version: v0.30.0, mutators: 5}')  # TypeError
@example('- {version: v0.30.0, mutators: [{handler: hydrator, config: {api: {retry: {number_of_retries: x}}}}]}')
@example('- {match: {url: "http://h/<a{99999999999}>", methods: [GET]}, authenticators: [{handler: noop}], '
         'authorizer: {handler: allow}, mutators: [{handler: noop}]}')  # OverflowError from re
@example('- {match: {url: "http://h/", methods: [GET]}, authenticators: [{handler: noop}], '
         'authorizer: {handler: allow}, mutators: [{handler: noop}], upstream: {url: "http://[::1"}}')  # ValueError
def test_any_text_loads_or_is_a_load_problem(config: Config, deps: Deps, text: str) -> None:
    compile_text(text, config, deps)


@FUZZ
@given(st.text(max_size=300))
@example("&a [*a]")
def test_yaml_loading_raises_only_yaml_errors(text: str) -> None:
    try:
        load_yaml(text, NAME)
    except YamlError as exc:
        assert str(exc).startswith(NAME)


MATCHED = st.tuples(st.sampled_from(["GET", "POST", "PUT"]),
                    st.sampled_from(["http://h/", "http://h/a", "http://h/a/b.c", "https://h/x?y=1"])
                    | st.text(alphabet="htp:/.a<>*?{}%é", max_size=20))


@FUZZ
@given(st.lists(near_valid_rule(), min_size=1, max_size=3), st.booleans(), MATCHED)
@example([{"id": "a", "match": {"url": "http://h/a", "methods": ["GET"]}, "authenticators": [{"handler": "noop"}],
           "authorizer": {"handler": "remote", "config": {"remote": "http://r",
                                                          "forward_response_headers_to_upstream": ["X-€"]}},
           "mutators": [{"handler": "header", "config": {"headers": {"X €": "{{ \"\\q\" }}"}}}]}],
         True, ("GET", "http://h/a"))  # header names were latin-1 encoded at load: UnicodeEncodeError
@example([{"match": {"url": None, "methods": ["GET"]}}], False, ("GET", "http://h/"))  # a bad url was None: TypeError
def test_near_valid_rules_load_or_are_load_problems(config: Config, deps: Deps, rules: list[Any], as_yaml: bool,
                                                    request_line: tuple[str, str]) -> None:
    ruleset = compile_text(dump(rules, as_yaml), config, deps)
    if ruleset is not None:
        method, url = request_line
        ruleset.find(method, url, lambda name: "")
        try:
            view = view_for(method, url, [("X-A", "b")])
        except GatekeeperError:
            return  # not a request the data plane would accept
        explain(ruleset, view)


@pytest.fixture(scope="module")
def rule_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("rules") / "rules.yaml"


@FUZZ
@given(st.lists(near_valid_rule(), min_size=1, max_size=2) | st.text(max_size=100).map(lambda t: [t]))
def test_rule_tools_report_problems(rule_file: Path, config: Config, deps: Deps, rules: list[Any]) -> None:
    """`gatekeeper rules lint|test|explain` load files the same way: problems, never exceptions."""
    rule_file.write_text(dump(rules, True), encoding="utf-8")
    loaded = load([rule_file], config, deps)
    assert all(p.file == str(rule_file) for p in loaded.problems), loaded.problems


# -- handler configs: refused at load, or working at request time -------------------------------------------------

SESSIONS: st.SearchStrategy[dict[str, Any]] = st.builds(
    dict, subject=st.text(max_size=10),
    extra=st.dictionaries(st.sampled_from(["email", "roles", "a", "identity", "Get"]), VALUES, max_size=4),
    header=st.dictionaries(st.sampled_from(["X-A", "Authorization", "x-b"]), st.text(max_size=8), max_size=2))


def session_of(fields: dict[str, Any]) -> AuthSession:
    view = view_for("GET", "http://h/a/b?q=1", [("X-A", "1"), ("Authorization", "Bearer t"), ("Cookie", "c=1")])
    return AuthSession(view, captures=("a",), **fields)


@FUZZ
@given(st.sampled_from(["mutators", "authorizers"]).flatmap(
    lambda kind: st.tuples(st.just(kind), handler_ref(kind))), SESSIONS)
@example(("mutators", {"handler": "header", "config": {"headers": {"X": "{{ .MatchContext.Header.Get 1 }}"}}}),
         {"subject": "s", "extra": {}, "header": {}})  # a method called with a wrong argument: AttributeError
@example(("authorizers", {"handler": "remote", "config": {"remote": "http://r:1:2"}}),
         {"subject": "s", "extra": {}, "header": {}})  # httpx.InvalidURL at request time
def test_handler_configs_are_refused_at_load_or_work(config: Config, deps: Deps, handler: tuple[str, Any],
                                                     fields: dict[str, Any]) -> None:
    kind, ref = handler
    rule = {"id": "r", "match": {"url": "http://h/<.*>", "methods": ["GET"]}, "authenticators": [{"handler": "noop"}],
            "authorizer": ref if kind == "authorizers" else {"handler": "allow"},
            "mutators": [ref] if kind == "mutators" else [{"handler": "noop"}]}
    ruleset = compile_text(json.dumps([rule]), config, deps)
    if ruleset is None:
        return
    compiled = ruleset.rules[0]
    session = session_of(fields)

    async def run() -> None:
        await compiled.authorizer[1].authorize(session)
        for _, mutator in compiled.mutators:
            await mutator.mutate(session)

    try:
        asyncio.run(run())
    except GatekeeperError:
        pass  # an answer (403, 500 naming the template or back-end), not a crash
    for name in session.header:
        name.encode("latin-1")  # the proxy sends header names latin-1 encoded


# -- templates -------------------------------------------------------------------------------------------------

FRAGMENTS = st.sampled_from([
    "{{", "}}", "{{-", "-}}", " ", "x", ".", ".Subject", ".Extra", ".Extra.email", ".Extra.roles", ".Header",
    ".MatchContext", ".MatchContext.Header.Get", ".MatchContext.URL", ".MatchContext.URL.String",
    ".MatchContext.URL.Query.Get", ".MatchContext.RegexpCaptureGroups", ".MatchContext.Method", ".Header.Get",
    ".upper", ".pop", ".Get", ".String", ".Nope", "$", "$.Subject", '"x"', '"\\q"', '"\t"', "`raw`", "1", "-2.5",
    "9" * 50, "(", ")", "|", "print", "printf", '"%d %s %q %5.2f %x"', "printIndex", "index", "len", "toJson",
    "default", "split", "join", "int", "add", "eq", "not", "and", "or", "b64dec", "list", "coalesce", "nope",
    "if", "else", "end", "range", "/*", "*/", "true", "nil", ":=", "\n",
])
TEMPLATES = st.lists(FRAGMENTS, max_size=16).map(" ".join) | st.text(max_size=40)


@FUZZ
@given(TEMPLATES, SESSIONS)
@example('{{ "\\q" }}', {"subject": "", "extra": {}, "header": {}})  # JSONDecodeError at compile
@example("{{" + "(" * 2000 + ".Subject" + ")" * 2000 + "}}", {"subject": "", "extra": {}, "header": {}})
@example("{{ if 1 }}" * 300 + "x" + "{{ end }}" * 300, {"subject": "", "extra": {}, "header": {}})
@example("{{ " + "9" * 5000 + " }}", {"subject": "", "extra": {}, "header": {}})  # int() digit limit
@example("{{ .Extra.roles.pop }}", {"subject": "", "extra": {"roles": [1]}, "header": {}})  # a Python method
@example("{{ .MatchContext.Header.Get }}", {"subject": "", "extra": {}, "header": {}})
@example("{{ print list }}", {"subject": "", "extra": {}, "header": {}})  # a function as argument: TypeError
def test_templates_compile_or_fail_and_render_or_fail_with_template_errors(source: str, fields: dict[str, Any]) \
        -> None:
    try:
        template = compile_template(source)
    except TemplateError:
        return
    session = session_of(fields)
    before = json.dumps(session.extra, sort_keys=True, default=str)
    try:
        out = template.render(session.template_data())
    except TemplateError:
        return
    assert isinstance(out, str)
    assert " object at 0x" not in out, out  # no Python object leaks into a header
    assert json.dumps(session.extra, sort_keys=True, default=str) == before  # rendering never changes the session


FIELD_PATHS = st.lists(st.sampled_from(["Subject", "Extra", "email", "roles", "a", "Header", "MatchContext", "URL",
                                        "String", "Method", "Query", "Get", "RegexpCaptureGroups", "upper"]),
                       min_size=1, max_size=4).map(lambda p: "." + ".".join(p))


@FUZZ
@given(FIELD_PATHS, st.booleans(), SESSIONS)
@example(".MatchContext.URL.String", False, {"subject": "", "extra": {}, "header": {}})  # fast path: "<bound method"
@example(".Header", False, {"subject": "", "extra": {}, "header": {}})  # printed "<... object at 0x...>"
def test_the_fast_path_renders_as_the_general_one(path: str, with_print: bool, fields: dict[str, Any]) -> None:
    """`{{ .A.b }}` and `{{ print .A.b }}` skip the general renderer; a trailing comment forces it."""
    source = "{{ " + ("print " if with_print else "") + path + " }}"
    results = []
    for text in (source, source + "{{/* general */}}"):
        try:
            template = compile_template(text)
            results.append(template.render(session_of(fields).template_data()))
        except TemplateError as exc:
            results.append(type(exc).__name__)
    assert results[0] == results[1]
