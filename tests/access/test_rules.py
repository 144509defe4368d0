"""Rule files: Oathkeeper's format, problems with file:line:rule:key, handler checks, overlaps at load."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import yaml

from gatekeeper.access.compiler import compile_ruleset
from gatekeeper.access.handlers import Deps
from gatekeeper.access.rules import RuleError, parse_rules
from gatekeeper.jwks import JwksCache
from tests.access.support import access_config, access_instance, rule

GOOD = rule("api", "https://app.example.com/api/<.*>", upstream="http://127.0.0.1:1")


def compile_text(tmp_path: Path, text: str, overrides: dict | None = None):  # type: ignore[no-untyped-def]
    config = access_config(tmp_path, None, overrides)
    client = httpx.AsyncClient()
    return compile_ruleset(parse_rules(text, "rules.yaml"), config, Deps(client, None, JwksCache(client)))


def problems_of(tmp_path: Path, text: str, overrides: dict | None = None) -> list[str]:
    with pytest.raises(RuleError) as info:
        compile_text(tmp_path, text, overrides)
    return [str(p) for p in info.value.problems]


def test_json_and_yaml_files_load_the_same_rules(tmp_path: Path) -> None:
    from_json = compile_text(tmp_path, json.dumps([GOOD]))
    from_yaml = compile_text(tmp_path, yaml.safe_dump([GOOD]))
    assert [r.loaded.as_json() for r in from_json.rules] == [r.loaded.as_json() for r in from_yaml.rules]
    assert from_json.rules[0].id == "api"


def test_a_problem_names_file_line_rule_and_key(tmp_path: Path) -> None:
    text = """\
- id: ok
  match: {url: "https://h/a", methods: [GET]}
  authenticators: [{handler: noop}]
  authorizer: {handler: allow}
  mutators: [{handler: noop}]
- id: broken
  match:
    url: "https://h/b"
    methods: [GET]
  authenticators:
    - handler: jwt
  authorizer: {handler: allow}
  mutators:
    - handler: header
      config:
        headers:
          X-User: "{{ range .Extra }}"
"""
    problems = problems_of(tmp_path, text)
    assert any(p.startswith("rules.yaml:11: 1.authenticators.0.handler (rule 'broken'): ") and "not enabled" in p
               for p in problems), problems
    assert any(p.startswith("rules.yaml:17: 1.mutators.0.config.headers.X-User (rule 'broken')")
               and "missing {{ end }}" in p for p in problems), problems


@pytest.mark.parametrize(("mutate", "expected"), [
    pytest.param(lambda r: r["match"].pop("url"), "match.url (rule 'api'): is required", id="missing url"),
    pytest.param(lambda r: r.update(authenticators=[]), "needs at least one authenticator", id="no authenticator"),
    pytest.param(lambda r: r.update(mutators=[]), "needs at least one mutator", id="no mutator"),
    pytest.param(lambda r: r.update(authorizer={"handler": "nope"}), "unknown authorizer 'nope'", id="unknown"),
    pytest.param(lambda r: r.update(version="latest"), "semantic version", id="non-semver version"),
    pytest.param(lambda r: r["upstream"].update(url="ftp://x"), "upstream.url", id="bad upstream"),
    pytest.param(lambda r: r["match"].update(url="https://h/<.*"), "unbalanced", id="bad pattern"),
    pytest.param(lambda r: r.update(authenticators=[{"handler": "anonymous", "config": {"subjekt": "x"}}]),
                 "unknown key (did you mean 'subject'?)", id="unknown handler config key"),
    pytest.param(lambda r: r.update(authorizer={"handler": "expression", "config": {"expression": "os.system"}}),
                 "unknown name 'os'", id="expression with unknown names"),
])
def test_invalid_rules_are_load_errors(tmp_path: Path, mutate, expected: str) -> None:  # type: ignore[no-untyped-def]
    bad = json.loads(json.dumps(GOOD))
    mutate(bad)
    problems = problems_of(tmp_path, yaml.safe_dump([bad]))
    assert any(expected in p for p in problems), problems


def test_a_file_must_be_a_list(tmp_path: Path) -> None:
    assert "must be a list" in problems_of(tmp_path, yaml.safe_dump(GOOD))[0]


def test_unknown_top_level_keys_are_ignored_as_oathkeeper(tmp_path: Path) -> None:
    assert compile_text(tmp_path, yaml.safe_dump([{**GOOD, "x-owner": "team-a"}])).rules[0].id == "api"


def test_global_handler_config_is_merged_with_the_rule_config(tmp_path: Path) -> None:
    rules = [rule("h", "https://h/", mutators=(("header", {"headers": {"X-B": "b"}}),))]
    ruleset = compile_text(tmp_path, yaml.safe_dump(rules),
                           {"mutators": {"header": {"config": {"headers": {"X-A": "a"}}}}})
    assert set(ruleset.rules[0].mutators[0][1].sets_headers) == {"X-A", "X-B"}


def test_provable_overlaps_are_reported_at_load(tmp_path: Path) -> None:
    rules = [rule("all", "https://h/<.*>"), rule("admin", "https://h/admin", methods=("GET",))]
    problems = problems_of(tmp_path, yaml.safe_dump(rules))
    assert len(problems) == 1
    assert "overlaps rule 'admin'" in problems[0] and "GET https://h/admin" in problems[0]


def test_rules_for_different_methods_do_not_overlap(tmp_path: Path) -> None:
    rules = [rule("read", "https://h/<.*>", methods=("GET",)), rule("write", "https://h/<.*>", methods=("POST",))]
    assert len(compile_text(tmp_path, yaml.safe_dump(rules)).rules) == 2


async def test_match_outcomes_404_and_500_with_oathkeepers_error(tmp_path: Path) -> None:
    # [0-9]{3} and 1.* overlap on /123 but no sample proves it at load: the request gets Oathkeeper's 500
    rules = [rule("three-digits", "http://<.*>/<[0-9]{3}>"), rule("ones", "http://<.*>/<1[a-z0-9]*>")]
    async with access_instance(access_config(tmp_path, rules, {"errors": {"handlers": {"json": {
            "config": {"verbose": True}}}}})) as gk, httpx.AsyncClient() as client:
        assert (await client.get(f"{gk.api}/decisions/1abc")).status_code == 200
        many = await client.get(f"{gk.proxy}/123")
        assert many.status_code == 500
        assert many.json()["error"]["message"] == "Expected exactly one rule but found multiple rules"
        assert many.json()["error"]["id"] == "internal_server_error"
        none = await client.get(f"{gk.proxy}/nothing/here")
        assert none.status_code == 404
        assert none.json()["error"]["message"] == "Requested url does not match any rules"


def test_the_json_error_handler_is_on_unless_disabled(tmp_path: Path) -> None:
    rules = yaml.safe_dump([rule("r", "https://h/", errors=("json",))])
    on = compile_text(tmp_path, rules, {"errors": {"handlers": {"json": {"config": {"verbose": True}}}}})
    assert on.rules[0].errors[0][1].verbose is True
    problems = problems_of(tmp_path, rules, {"errors": {"handlers": {"json": {"enabled": False}}}})
    assert any("'json' is not enabled" in p for p in problems)


def test_old_hydrator_retry_settings_are_migrated_by_rule_version(tmp_path: Path) -> None:
    old = rule("h", "https://h/", mutators=(("hydrator", {"api": {"url": "http://127.0.0.1:9/h", "retry": {
        "number_of_retries": 3, "delay_in_milliseconds": 200}}}),), version="v0.31.0")
    ruleset = compile_text(tmp_path, yaml.safe_dump([old]), {"mutators": {"hydrator": {"enabled": True}}})
    retry = ruleset.rules[0].mutators[0][1].cfg.api.retry
    assert (float(retry.give_up_after), float(retry.max_delay)) == (0.6, 0.2)
    current = {**old, "version": "v26.2.0"}
    problems = problems_of(tmp_path, yaml.safe_dump([current]), {"mutators": {"hydrator": {"enabled": True}}})
    assert any("number_of_retries" in p and "unknown key" in p for p in problems), problems
