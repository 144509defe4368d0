"""Configuration: file:line:key problems (all at once), env overrides Kratos' way, DSN forms, secrets."""

from __future__ import annotations

import dataclasses
import logging
import re
import textwrap
import typing
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.config import Config, ConfigError, Secret, load_config, parse_config, parse_documents
from gatekeeper.config.dsn import Dsn
from gatekeeper.config.notices import NO_EFFECT, WHEN_ENABLED

SECRET = "s3cret-cookie-value-0123456789"


def check(text: str, env: dict[str, str] | None = None, **kw: Any) -> Config:
    return parse_config(textwrap.dedent(text), name="gk.yaml", env=env or {}, **kw)


def problems(text: str, env: dict[str, str] | None = None, **kw: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        check(text, env, **kw)
    return [str(p) for p in caught.value.problems]


def at(obj: Any, *keys: str) -> Any:
    """Read a nested config value whether the section is typed or still a free-form mapping."""
    for key in keys:
        obj = obj[key] if isinstance(obj, dict) else getattr(obj, key)
    return obj


VALID = f"""\
dsn: memory
secrets:
  cookie:
    - {SECRET}
"""


def test_a_minimal_config_is_valid_and_frozen() -> None:
    config = check(VALID)
    assert config.store_dsn.dialect == "sqlite"
    assert config.serve.public.port == 4433 and config.serve.proxy.port == 4455
    assert config.serve.shutdown_timeout == 10.0
    with pytest.raises(AttributeError):
        config.dsn = "other"  # type: ignore[misc]


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("serve:\n  public:\n    port: abc\n", "gk.yaml:3: serve.public.port: expected int, got 'abc'",
                 id="wrong scalar type names file, line, key and what was expected"),
    pytest.param("serve:\n  public: 4433\n", "gk.yaml:2: serve.public: expected a mapping, got int 4433",
                 id="scalar where a section is expected"),
    pytest.param("serve:\n  admn:\n    port: 1\n", "gk.yaml:2: serve.admn: unknown key (did you mean 'admin'?)",
                 id="unknown key with a near miss -> did you mean"),
    pytest.param("frobnicate: 1\n", "gk.yaml:1: frobnicate: unknown key",
                 id="unknown key without a near miss"),
    pytest.param("serve:\n  shutdown_timeout: soon\n",
                 "gk.yaml:2: serve.shutdown_timeout: expected a duration such as 10s, 15m or 1h, got 'soon'",
                 id="bad duration"),
    pytest.param("log:\n  format: xml\n", "gk.yaml:2: log.format: expected 'json' or 'text', got 'xml'",
                 id="bad log format"),
    pytest.param("serve:\n  metrics:\n    port: 70000\n",
                 "gk.yaml:3: serve.metrics.port: expected a port between 0 and 65535, got 70000", id="port range"),
    pytest.param("serve:\n  workers: 0\n",
                 "gk.yaml:2: serve.workers: expected auto or a number of processes between 1 and 512, got 0",
                 id="no workers"),
    pytest.param("serve:\n  workers: many\n",
                 "gk.yaml:2: serve.workers: expected auto or a number of processes between 1 and 512, got 'many'",
                 id="workers neither auto nor a number"),
    pytest.param("secrets:\n  cipher: [tooshort]\n",
                 "gk.yaml:2: secrets.cipher.0: must be exactly 32 characters long, got 8", id="cipher secret length"),
    pytest.param("dsn: mysql://u:pw@db/x\n",
                 "gk.yaml:1: dsn: unsupported database mysql://: expected memory, sqlite://PATH or postgres://USER@HOST/DB",
                 id="unsupported dsn, password not echoed"),
    pytest.param("- a\n- b\n", "gk.yaml:1: <root>: expected a mapping of config keys at the top level",
                 id="top level is not a mapping"),
])
def test_a_bad_key_is_reported_with_file_line_and_key(text: str, expected: str) -> None:
    assert problems(text, dev=True) == [expected]


def test_a_partly_written_section_keeps_the_defaults_of_the_rest() -> None:
    config = check(VALID + "serve:\n  public:\n    host: 127.0.0.1\n  admin: {}\n"
                   "selfservice:\n  methods:\n    code:\n      config: {}\n")
    assert (config.serve.public.host, config.serve.public.port) == ("127.0.0.1", 4433)
    assert config.serve.admin.port == 4434
    assert config.selfservice.methods.code.enabled  # Kratos' default for code stays on
    assert check(VALID, env={"SERVE_METRICS_HOST": "127.0.0.1"}).serve.metrics.port == 9000


def test_every_problem_is_reported_at_once_in_line_order() -> None:
    found = problems("""\
        dsn: memory
        serve:
          public:
            port: notaport
          admn: {}
        log:
          levle: debug
          format: xml
        secrets:
          cookie:
            - short
        """)
    assert found == [
        "gk.yaml:4: serve.public.port: expected int, got 'notaport'",
        "gk.yaml:5: serve.admn: unknown key (did you mean 'admin'?)",
        "gk.yaml:7: log.levle: unknown key (did you mean 'level'?)",
        "gk.yaml:8: log.format: expected 'json' or 'text', got 'xml'",
        "gk.yaml:11: secrets.cookie.0: must be at least 16 characters long",
    ]


def test_a_duplicate_key_is_a_problem_naming_both_lines() -> None:
    found = problems(VALID + "log:\n  level: info\n  format: text\n  level: debug\n")
    assert found == ["gk.yaml:8: log.level: duplicate key (first set on line 6)"]


def test_a_yaml_syntax_error_names_the_line() -> None:
    found = problems("dsn: memory\nserve:\n  public: [1, 2\n  admin: {}\n")
    assert len(found) == 1 and found[0].startswith("gk.yaml:4: <root>: ")


def test_an_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing.yaml: <root>: cannot read: No such file or directory"):
        load_config(tmp_path / "missing.yaml")


def test_an_empty_file_means_defaults_but_secrets_are_still_required() -> None:
    assert problems("") == [
        "gk.yaml:1: secrets.cookie: is required outside --dev (at least one secret of 16 or more characters)"]


def test_secrets_default_stands_in_for_cookie_secrets_as_in_kratos() -> None:
    config = check(f"secrets:\n  default: [{SECRET}]\n")
    assert [s.value for s in config.cookie_secrets] == [SECRET]


def test_dev_generates_missing_secrets_and_logs_that_it_did_without_the_value(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="gatekeeper.config"):
        config = check("dsn: memory\n", dev=True)
    assert config.dev
    generated = config.cookie_secrets[0].value
    assert len(generated) >= 16 and len(config.cipher_secrets[0].value) == 32
    assert "generated" in caplog.text
    assert generated not in caplog.text and config.cipher_secrets[0].value not in caplog.text
    assert generated not in repr(config) and generated not in str(config.secrets)


def test_configured_secrets_are_kept_in_dev_and_never_printed() -> None:
    config = check(VALID, dev=True)
    assert config.cookie_secrets[0].value == SECRET
    assert SECRET not in repr(config)


def test_migrations_need_no_secrets(caplog: pytest.LogCaptureFixture) -> None:
    config = check("dsn: memory\n", secrets_needed=False)
    assert config.cookie_secrets == () and "generated" not in caplog.text


# --- environment overrides ---------------------------------------------------------------------------


def test_env_overrides_keys_the_kratos_way() -> None:
    config = check(VALID, env={
        "DSN": "postgres://gk:pw@db.internal:5432/gatekeeper",
        "SERVE_PUBLIC_PORT": "14433",
        "SERVE_PROXY_IDENTITY_PREFIX": "/auth",
        "SERVE_SHUTDOWN_TIMEOUT": "3s",
        "LOG_LEVEL": "debug",
        "ACCESS_RULES_REPOSITORIES": '["file://./a.yaml", "file://./b.yaml"]',
        "UNRELATED_VARIABLE": "x", "PATH": "/usr/bin",
    })
    assert config.store_dsn.dialect == "postgres"
    assert config.serve.public.port == 14433
    assert config.serve.proxy.identity_prefix == "/auth"
    assert config.serve.shutdown_timeout == 3.0
    assert config.log.level == "debug"
    assert config.access_rules.repositories == ("file://./a.yaml", "file://./b.yaml")


@pytest.mark.parametrize(("value", "workers"), [("auto", "auto"), ("3", 3)])
def test_env_sets_the_number_of_workers(value: str, workers: object) -> None:
    assert check(VALID, env={"SERVE_WORKERS": value}).serve.workers == workers


def test_env_sets_a_list_item_by_index() -> None:
    config = check(VALID, env={"SECRETS_COOKIE_0": "rotated-secret-0123456789", "SECRETS_COOKIE_1": SECRET})
    assert [s.value for s in config.cookie_secrets] == ["rotated-secret-0123456789", SECRET]


def test_env_provides_secrets_missing_from_the_file() -> None:
    config = check("dsn: memory\n", env={"SECRETS_COOKIE_0": SECRET})
    assert [s.value for s in config.cookie_secrets] == [SECRET]


def test_env_overrides_a_selfservice_flow_url() -> None:
    text = VALID + "selfservice:\n  flows:\n    login:\n      ui_url: http://127.0.0.1:4455/.auth/ui/login\n"
    config = check(text, env={"SELFSERVICE_FLOWS_LOGIN_UI_URL": "https://example.com/login"})
    assert at(config.selfservice.flows, "login", "ui_url") == "https://example.com/login"


def test_env_sets_a_selfservice_flow_url_absent_from_the_file() -> None:
    config = check(VALID, env={"SELFSERVICE_FLOWS_LOGIN_UI_URL": "https://example.com/login"})
    assert at(config.selfservice.flows, "login", "ui_url") == "https://example.com/login"


@pytest.mark.parametrize(("env", "expected"), [
    pytest.param({"SERVE_PUBLIC_PORT": "abc"},
                 "environment variable SERVE_PUBLIC_PORT: serve.public.port: expected int, got 'abc'", id="port"),
    pytest.param({"DSN": "garbage"},
                 "environment variable DSN: dsn: expected memory, sqlite://PATH or postgres://USER@HOST/DB", id="dsn"),
    pytest.param({"SECRETS_COOKIE_0": "short"},
                 "environment variable SECRETS_COOKIE_0: secrets.cookie.0: must be at least 16 characters long",
                 id="list item"),
])
def test_env_problems_are_blamed_on_the_variable(env: dict[str, str], expected: str) -> None:
    assert problems(VALID, env) == [expected]


def test_load_config_reads_os_environ_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "gk.yaml"
    file.write_text(VALID)
    monkeypatch.setenv("SERVE_ADMIN_PORT", "14434")
    assert load_config(file).serve.admin.port == 14434


# --- DSN forms ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("dsn", "dialect", "path"), [
    pytest.param("memory", "sqlite", ":memory:", id="memory"),
    pytest.param("sqlite://./var/x.db?_fk=true", "sqlite", "./var/x.db", id="relative sqlite with options"),
    pytest.param("sqlite:///abs/dir/x.db", "sqlite", "/abs/dir/x.db", id="absolute sqlite"),
    pytest.param("sqlite3://x.db", "sqlite", "x.db", id="sqlite3 scheme"),
    pytest.param("sqlite://file::memory:?_fk=true", "sqlite", ":memory:", id="kratos in-memory form"),
    pytest.param("postgres://u:p@db:5432/gk?sslmode=disable", "postgres", "", id="postgres"),
    pytest.param("postgresql://u@db/gk?max_conns=20", "postgres", "", id="postgresql"),
])
def test_accepted_dsn_forms(dsn: str, dialect: str, path: str) -> None:
    parsed = check(VALID, env={"DSN": dsn}).store_dsn
    assert (parsed.dialect, parsed.path) == (dialect, path)


@pytest.mark.parametrize("dsn", ["garbage", "sqlite://", "postgres:///nohost", "mysql://u:hunter2@h/db", "",
                                 "postgres://u:hunter2@h/db?max_conns=0", "postgres://u@h/db?max_conns=many"])
def test_rejected_dsn_forms_never_echo_a_password(dsn: str) -> None:
    with pytest.raises(ValueError) as caught:
        Dsn.parse(dsn)
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(("dsn", "masked"), [
    ("postgres://gk:hunter2@db:5432/x", "postgres://gk:***@db:5432/x"),
    ("postgres://gk@db/x?sslmode=disable&password=hunter2", "postgres://gk@db/x?sslmode=disable&password=***"),
    ("postgres://gk@db/x", "postgres://gk@db/x"),
    ("sqlite://./var/x.db?_fk=true", "sqlite://./var/x.db?_fk=true"),
    ("sqlite:///abs/x.db", "sqlite:///abs/x.db"),
])
def test_masked_dsn_hides_the_password(dsn: str, masked: str) -> None:
    assert Dsn.parse(dsn).masked() == masked


def test_the_dev_config_used_by_make_run_is_valid() -> None:
    config = load_config(Path(__file__).parent.parent / "config" / "dev.yaml", env={}, dev=True)
    assert config.store_dsn.dialect == "sqlite" and config.serve.proxy.port == 4455


def _key_paths(cls: type, prefix: str = "") -> list[str]:
    hints = typing.get_type_hints(cls)
    paths = []
    for f in dataclasses.fields(cls):
        tp, path = hints[f.name], prefix + f.name
        if f.name == "source":
            continue
        if dataclasses.is_dataclass(tp) and tp is not Secret:
            paths += _key_paths(tp, path + ".")
        else:
            paths.append(path)
    return paths


def test_oathkeepers_serve_prometheus_moves_the_metrics_listener() -> None:
    config = parse_config("serve:\n  prometheus:\n    host: 127.0.0.2\n    port: 9911\n", name="ok.yaml", env={},
                          dev=True)
    assert (config.serve.metrics.host, config.serve.metrics.port) == ("127.0.0.2", 9911)
    assert parse_config("serve: {prometheus: {port: 9912}}\n", name="p.yaml", env={}, dev=True).serve.metrics.host \
        == "0.0.0.0"
    with pytest.raises(ConfigError) as bad:
        parse_config("serve:\n  prometheus:\n    metrics_path: /prom\n", name="bad.yaml", env={}, dev=True)
    assert "bad.yaml:3: serve.prometheus.metrics_path: gatekeeper serves metrics at /metrics" in str(bad.value)


def test_every_config_key_is_in_the_configuration_reference() -> None:
    """docs/configuration.md names each key: literally, in a pattern row (`serve.<admin|api>.base_url`), through a
    documented child key, or as a `/ .part` shorthand next to its sibling."""
    doc = (Path(__file__).parent.parent / "docs" / "configuration.md").read_text()
    doc = re.sub(r"(?ms)^```.*?^```", "", doc)  # code blocks are examples, not the reference
    tokens = [t.split()[0] for t in re.findall(r"`([^`\n]+)`", doc)]

    def covers(token: str, path: str) -> bool:
        want, have = path.split("."), token.split(".")
        if len(have) < len(want):
            return token.startswith(".") and token == "." + ".".join(want[-len(have) + 1:])
        return all(h == w or (h.startswith("<") and h.endswith(">")) for h, w in zip(have, want, strict=False))

    missing = [p for p in _key_paths(Config) if not any(covers(t, p) for t in tokens)]
    assert missing == [], f"document these keys in docs/configuration.md: {missing}"


def test_several_files_merge_in_order_as_kratos_cli_merges_them() -> None:
    kratos = textwrap.dedent(f"""\
        dsn: memory
        secrets:
          cookie: [{SECRET}]
        serve:
          public:
            port: 4433
            base_url: http://kratos:4433/
        selfservice:
          allowed_return_urls: [http://a.example, http://b.example]
        """)
    oathkeeper = textwrap.dedent("""\
        serve:
          public:
            base_url: http://127.0.0.1:4433/
          proxy:
            port: 4455
        selfservice:
          allowed_return_urls: [http://c.example]
        """)
    config = parse_documents([(kratos, "kratos.yml"), (oathkeeper, "oathkeeper.yml")], env={})
    assert config.serve.public.port == 4433  # kept from the first file: mappings merge key by key
    assert config.serve.public.base_url == "http://127.0.0.1:4433/"  # a later scalar replaces
    assert config.serve.proxy.port == 4455
    assert config.selfservice.allowed_return_urls == ("http://c.example",)  # a later list replaces, as configx
    assert config.source.file("serve.proxy.port") == "oathkeeper.yml" and config.source.line("serve.proxy.port") == 5
    assert config.source.file("dsn") == "kratos.yml"


def test_a_problem_in_merged_files_names_the_file_it_is_in_and_the_environment_still_wins() -> None:
    first = f"dsn: memory\nsecrets:\n  cookie: [{SECRET}]\n"
    second = "serve:\n  admin:\n    port: many\n"
    with pytest.raises(ConfigError) as caught:
        parse_documents([(first, "a.yml"), (second, "b.yml")], env={})
    assert [str(p) for p in caught.value.problems] == ["b.yml:3: serve.admin.port: expected int, got 'many'"]
    config = parse_documents([(first, "a.yml"), (second, "b.yml")], env={"SERVE_ADMIN_PORT": "4434"})
    assert config.serve.admin.port == 4434


def test_lists_and_maps_from_the_environment_are_json_as_in_ory_configx() -> None:
    env = {"IDENTITY_SCHEMAS": '[{"id":"default","url":"file:///etc/identity.schema.json"}]',
           "SELFSERVICE_METHODS_TOTP": '{"enabled": true, "config": {"issuer": "Example"}}'}
    config = check(VALID, env)
    assert [(s.id, s.url) for s in config.identity.schemas] == [("default", "file:///etc/identity.schema.json")]
    assert at(config.selfservice.methods, "totp", "enabled") is True
    assert at(config.selfservice.methods, "totp", "config", "issuer") == "Example"


def test_ory_keys_without_effect_load_and_are_each_named_once_with_file_and_line() -> None:
    config = check(VALID + textwrap.dedent("""\
        ciphers:
          algorithm: xchacha20-poly1305
        feature_flags:
          use_continue_with_transitions: true
        selfservice:
          methods:
            oidc:
              enabled: true
              config:
                providers:
                  - id: apple
                    provider: generic
                    client_id: abc
                    client_secret: def
                    issuer_url: https://appleid.apple.com
                    mapper_url: base64://bG9jYWwgeCA9IDE7IHt9
                    fedcm_config_url: https://accounts.example.com/fedcm.json
        serve:
          proxy:
            tls:
              key:
                path: /tls/key.pem
        """))
    assert [(n.file, n.line, n.path) for n in config.notices] == [
        ("gk.yaml", 5, "ciphers"), ("gk.yaml", 7, "feature_flags"),
        ("gk.yaml", 21, "selfservice.methods.oidc.config.providers.0.fedcm_config_url"),
        ("gk.yaml", 24, "serve.proxy.tls")]
    assert all(n.message for n in config.notices)
    assert problems("cipher:\n  algorithm: aes\n" + VALID) == ["gk.yaml:1: cipher: unknown key"]  # typos still fail


def test_kratos_cookies_section_sets_the_session_cookie_unless_session_cookie_says_otherwise() -> None:
    config = check(VALID + "cookies:\n  domain: example.com\n  same_site: Strict\n  path: /app\n"
                           "session:\n  cookie:\n    path: /\n")
    cookie = config.session.cookie
    assert (cookie.domain, cookie.same_site, cookie.path) == ("example.com", "Strict", "/")
    assert check(VALID).session.cookie.domain == ""


def test_every_key_without_effect_is_in_the_configuration_reference() -> None:
    doc = (Path(__file__).parent.parent / "docs" / "configuration.md").read_text()
    missing = [key for key in (*NO_EFFECT, *WHEN_ENABLED) if f"| `{key}` |" not in doc]
    assert missing == [], f"list these keys in docs/configuration.md (several files, and Ory's own): {missing}"


@pytest.mark.parametrize("file", ["", "access_rules:\n  repositories: [file:///etc/rules/a.yml]\n"])
def test_a_list_that_may_be_one_value_takes_items_by_index_from_the_environment(file: str) -> None:
    env = {"ACCESS_RULES_REPOSITORIES_0": "file:///etc/rules/b.yml"}
    assert check(VALID + file, env).access_rules.repositories == ("file:///etc/rules/b.yml",)
    assert check(VALID + file, {"ACCESS_RULES_REPOSITORIES": "file:///one.yml"}).access_rules.repositories == (
        "file:///one.yml",)
