"""The `courier` config section: Kratos' keys and defaults, every problem at once, the URI's meaning."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import pytest

from gatekeeper.config import ConfigError, parse_config
from gatekeeper.config.courier import parse_smtp_uri

SECRET = "secrets: {cookie: [test-cookie-secret-0123456789]}\n"


def test_kratos_defaults() -> None:
    courier = parse_config(SECRET, name="t.yaml", env={}).courier
    assert courier.smtp.connection_uri is None
    assert courier.smtp.from_address == "no-reply@ory.kratos.sh" and courier.smtp.local_name == "localhost"
    assert courier.message_retries == 5
    assert courier.worker.pull_count == 10 and courier.worker.pull_wait == 1.0


def test_a_kratos_courier_section_is_accepted_and_the_password_stays_hidden() -> None:
    config = parse_config(SECRET + """courier:
  template_override_path: ""
  message_retries: 3
  delivery_strategy: smtp
  worker: {pull_count: 5, pull_wait: 2s}
  smtp:
    connection_uri: smtps://mailer:top-secret@mail.example.com:465/?skip_ssl_verify=false
    from_address: accounts@example.org
    from_name: Example
    headers: {X-SES-CONFIGURATION-SET: accounts}
    local_name: gk.example.org
""", name="t.yaml", env={})
    assert config.courier.message_retries == 3 and config.courier.worker.pull_wait == 2.0
    assert config.courier.smtp.headers == {"X-SES-CONFIGURATION-SET": "accounts"}
    assert "top-secret" not in repr(config) and "top-secret" not in str(config)


def test_environment_overrides_as_kratos() -> None:
    config = parse_config(SECRET, name="t.yaml", env={
        "COURIER_SMTP_CONNECTION_URI": "smtp://127.0.0.1:1025/?disable_starttls=true",
        "COURIER_SMTP_FROM_ADDRESS": "dev@example.org", "COURIER_MESSAGE_RETRIES": "2"})
    assert config.courier.smtp.connection_uri.value == "smtp://127.0.0.1:1025/?disable_starttls=true"
    assert config.courier.smtp.from_address == "dev@example.org" and config.courier.message_retries == 2


def test_every_problem_is_reported_with_its_line() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(SECRET + """courier:
  smtp:
    connection_uri: http://mailer:top-secret@mail.example.com
    from_address: Example <accounts@example.org>
    headers: {Subject: hijacked}
  message_retries: -1
  worker: {pull_count: 0, retry_backoff: 0s}
  templates: {login_code: {valid: {email: {subject: "ftp://templates.example/subject.gotmpl"}}}}
  template_override_path: /nonexistent/templates
""", name="t.yaml", env={})
    found = {(p.path, p.line) for p in caught.value.problems}
    assert found == {("courier.smtp.connection_uri", 4), ("courier.smtp.from_address", 5),
                     ("courier.smtp.headers.Subject", 6), ("courier.message_retries", 7),
                     ("courier.worker.pull_count", 8), ("courier.worker.retry_backoff", 8),
                     ("courier.templates.login_code.valid.email.subject", 9),
                     ("courier.template_override_path", 10)}
    assert "top-secret" not in str(caught.value)


@pytest.mark.parametrize(("uri", "expected"), [
    pytest.param("smtp://mail.example.com", dict(port=25, starttls=True, implicit_tls=False), id="smtp: STARTTLS"),
    pytest.param("smtp://mail.example.com:1025/?disable_starttls=true", dict(port=1025, starttls=False),
                 id="disable_starttls: plain"),
    pytest.param("smtps://mail.example.com", dict(port=465, implicit_tls=True, starttls=False), id="smtps: TLS"),
    pytest.param("smtps://mail.example.com/?skip_ssl_verify=true&server_name=mx.example.com",
                 dict(skip_ssl_verify=True, server_name="mx.example.com"), id="skip_ssl_verify, server_name"),
    pytest.param("smtp://user%40example.org:p%3Ass@mail.example.com", dict(username="user@example.org"),
                 id="escaped credentials"),
])
def test_connection_uri(uri: str, expected: dict) -> None:
    endpoint = parse_smtp_uri(uri)
    for key, value in expected.items():
        assert getattr(endpoint, key) == value
    if "p%3Ass" in uri:
        assert endpoint.password.value == "p:ss" and "p:ss" not in repr(endpoint)


def test_config_check_compiles_the_courier_templates(tmp_path: Path) -> None:
    broken = tmp_path / "templates" / "verification_code" / "valid" / "email.body.gotmpl"
    broken.parent.mkdir(parents=True)
    broken.write_text("<p>\n{{ .VerificationCode | nope }}</p>\n")
    subject = base64.b64encode(b"Code {{ if .LoginCode }}").decode()
    config = tmp_path / "gk.yaml"
    config.write_text(SECRET + f"""courier:
  template_override_path: {tmp_path / "templates"}
  templates:
    login_code:
      valid:
        email:
          subject: base64://{subject}
""")
    result = subprocess.run([sys.executable, "-m", "gatekeeper.cli", "config", "check", str(config)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stdout.splitlines() == [
        f'{broken}:2: courier.template_override_path: function "nope" not defined',
        f"{config}:8: courier.templates.login_code.valid.email.subject: base64://{subject[:31]}... line 1: "
        "unexpected EOF: missing {{ end }}",
    ]
