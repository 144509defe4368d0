"""`gatekeeper config check` and `serve` validate every enabled handler's global config, as an operator runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECRET = "global-config-test-cookie-secret-0123"

# A handler section as Oathkeeper's documentation writes it: global configs that leave keys to the rules
# (id_token's jwks_url, hydrator's api.url, remote_json's remote) must pass.
VALID = f"""\
dsn: memory
secrets:
  cookie: [{SECRET}]
authenticators:
  anonymous:
    enabled: true
    config:
      subject: guest
  cookie_session:
    enabled: true
    config:
      check_session_url: http://127.0.0.1:4433/sessions/whoami
      preserve_path: true
      extra_from: "@this"
      subject_from: identity.id
      only: [ory_kratos_session]
  bearer_token:
    enabled: true
    config:
      check_session_url: http://127.0.0.1:4433/sessions/whoami
      token_from:
        header: X-Session-Token
  jwt:
    enabled: true
    config:
      jwks_urls: [file:///etc/secrets/jwks.json]
      scope_strategy: wildcard
      allowed_algorithms: [RS256]
      trusted_issuers: [https://issuer.example/]
  oauth2_introspection:
    enabled: true
    config:
      introspection_url: http://127.0.0.1:4445/admin/oauth2/introspect
      scope_strategy: exact
      pre_authorization:
        enabled: true
        client_id: gatekeeper
        client_secret: secret
        scope: [introspect]
        token_url: http://127.0.0.1:4444/oauth2/token
      cache:
        enabled: true
        ttl: 60s
  noop:
    enabled: true
  unauthorized:
    enabled: false
    config:
      anything: is ignored while disabled
authorizers:
  allow:
    enabled: true
  deny:
    enabled: true
  remote_json:
    enabled: true
    config:
      forward_response_headers_to_upstream: [X-Foo]
mutators:
  noop:
    enabled: true
  header:
    enabled: true
    config:
      headers:
        X-User: "{{{{ print .Subject }}}}"
  id_token:
    enabled: true
    config:
      issuer_url: https://gatekeeper.example/
      ttl: 60s
  hydrator:
    enabled: true
    config:
      cache:
        enabled: true
        ttl: 30s
errors:
  fallback: [json]
  handlers:
    json:
      enabled: true
      config:
        verbose: true
    redirect:
      enabled: true
      config:
        to: http://127.0.0.1:4455/login
        return_to_query_param: return_to
        when:
          - error: [unauthorized, forbidden]
            request:
              header:
                accept: [text/html]
    www_authenticate:
      enabled: true
      config:
        realm: Please log in
"""


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DSN", "SERVE_", "SECRETS_", "LOG_"))}
    return subprocess.run([sys.executable, "-m", "gatekeeper.cli", *args], capture_output=True, text=True,
                          timeout=60, env=env, cwd=ROOT)


def write(tmp_path: Path, text: str) -> Path:
    file = tmp_path / "gatekeeper.yaml"
    file.write_text(text)
    return file


def broken(tmp_path: Path) -> Path:
    """The valid config with a typo'd jwt key, a wrong id_token type and an unknown handler name."""
    text = VALID.replace("      scope_strategy: wildcard\n", "      scope_stratgy: wildcard\n")
    text = text.replace("      ttl: 60s\n  hydrator:", "      ttl: [60s]\n  hydrator:")
    text = text.replace("mutators:\n  noop:", "mutators:\n  headers:\n    enabled: true\n  noop:")
    return write(tmp_path, text)


def line_of(file: Path, needle: str) -> int:
    return next(i for i, line in enumerate(file.read_text().splitlines(), 1) if needle in line)


def test_a_valid_oathkeeper_handler_section_passes(tmp_path: Path) -> None:
    result = run("config", "check", str(write(tmp_path, VALID)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == "ok\n"


def test_config_check_reports_handler_config_problems_with_file_and_line(tmp_path: Path) -> None:
    file = broken(tmp_path)
    result = run("config", "check", str(file))
    assert result.returncode == 2
    assert result.stdout.splitlines() == [
        f"{file}:{line_of(file, 'scope_stratgy')}: authenticators.jwt.config.scope_stratgy: unknown key "
        "(did you mean 'scope_strategy'?)",
        f"{file}:{line_of(file, '  headers:')}: mutators.headers: unknown handler 'headers' (did you mean 'header'?)",
        f"{file}:{line_of(file, 'ttl: [60s]')}: mutators.id_token.config.ttl: expected a duration such as "
        "10s, 15m or 1h, got list ['60s']",
    ]
    assert "Traceback" not in result.stderr


def test_unknown_handler_without_a_close_name_lists_the_known_ones(tmp_path: Path) -> None:
    file = write(tmp_path, VALID.replace("errors:\n  fallback: [json]\n  handlers:\n",
                                         "errors:\n  fallback: [json]\n  handlers:\n    teapot:\n"
                                         "      enabled: false\n"))
    result = run("config", "check", str(file))
    assert result.returncode == 2
    assert result.stdout == (f"{file}:{line_of(file, 'teapot')}: errors.handlers.teapot: unknown handler 'teapot' "
                             "(known: json, redirect, www_authenticate)\n")


def test_a_disabled_handler_config_is_not_validated_but_an_enabled_one_is(tmp_path: Path) -> None:
    text = VALID.replace("  hydrator:\n    enabled: true\n", "  hydrator:\n    enabled: false\n")
    text = text.replace("        enabled: true\n        ttl: 30s\n", "        enabled: yes please\n        ttl: 30s\n")
    assert run("config", "check", str(write(tmp_path, text))).returncode == 0
    file = write(tmp_path, text.replace("  hydrator:\n    enabled: false\n", "  hydrator:\n    enabled: true\n"))
    result = run("config", "check", str(file))
    assert result.returncode == 2
    assert result.stdout.startswith(f"{file}:{line_of(file, 'yes please')}: mutators.hydrator.config.cache.enabled: ")


def test_serve_refuses_a_config_with_handler_config_problems(tmp_path: Path) -> None:
    file = broken(tmp_path)
    result = run("serve", "--config", str(file))
    assert result.returncode == 2
    assert result.stderr.startswith("invalid configuration:\n")
    assert f"{file}:{line_of(file, 'scope_stratgy')}: authenticators.jwt.config.scope_stratgy: unknown key" \
        in result.stderr
    assert "mutators.id_token.config.ttl" in result.stderr and "mutators.headers: unknown handler" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_json_error_handler_is_checked_without_enabled_because_it_is_on_by_default(tmp_path: Path) -> None:
    file = write(tmp_path, VALID.replace("    json:\n      enabled: true\n      config:\n        verbose: true\n",
                                         "    json:\n      config:\n        verbos: true\n"))
    result = run("config", "check", str(file))
    assert result.returncode == 2
    assert result.stdout == (f"{file}:{line_of(file, 'verbos:')}: errors.handlers.json.config.verbos: unknown key "
                             "(did you mean 'verbose'?)\n")


def test_rules_lint_with_a_config_reports_its_handler_config_problems_too(tmp_path: Path) -> None:
    file = broken(tmp_path)
    rules = tmp_path / "rules.yaml"
    rules.write_text("- id: app\n  match: {url: 'http://app/<.*>', methods: [GET]}\n"
                     "  authenticators: [{handler: anonymous}]\n  authorizer: {handler: allow}\n"
                     "  mutators: [{handler: noop}]\n")
    result = run("rules", "lint", "--config", str(file), str(rules))
    assert result.returncode == 1
    assert f"{file}:{line_of(file, 'scope_stratgy')}: authenticators.jwt.config.scope_stratgy: unknown key" \
        in result.stdout
    assert "mutators.headers: unknown handler 'headers'" in result.stdout
    assert run("rules", "lint", "--config", str(write(tmp_path, VALID)), str(rules)).returncode == 0
