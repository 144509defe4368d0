"""Templates: Kratos' types and variables, autoescaped HTML, and an override directory in Kratos' layout."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import pytest

from gatekeeper.config import Config, ConfigError
from gatekeeper.errors import GatekeeperError
from gatekeeper.identity.courier import Courier, TemplateType
from gatekeeper.identity.courier.templates import Templates
from gatekeeper.store import Store
from tests.courier.conftest import VERIFY, running
from tests.support.smtp import SmtpSink

IDENTITY = {"id": "9f5a", "traits": {"email": "ada@example.com"}}
CASES = [
    pytest.param(TemplateType.VERIFICATION_CODE_VALID, VERIFY, "Use code 123456 to verify your account",
                 ["123456", "https://app.example/verify?code=123456"], id="verification code"),
    pytest.param(TemplateType.VERIFICATION_VALID, {"verification_url": "https://app.example/v?token=abc"},
                 "Please verify your email address", ["https://app.example/v?token=abc"], id="verification link"),
    pytest.param(TemplateType.RECOVERY_CODE_VALID, {"recovery_code": "987654", "expires_in_minutes": 15},
                 "Use code 987654 to recover access to your account", ["987654", "15 minutes"], id="recovery code"),
    pytest.param(TemplateType.RECOVERY_VALID, {"recovery_url": "https://app.example/r?token=xyz"},
                 "Recover access to your account", ["https://app.example/r?token=xyz"], id="recovery link"),
    pytest.param(TemplateType.LOGIN_CODE_VALID, {"login_code": "111222"}, "Use code 111222 to log in", ["111222"],
                 id="login code"),
    pytest.param(TemplateType.REGISTRATION_CODE_VALID, {"registration_code": "333444", "traits": {"email": "a@b.c"}},
                 "Use code 333444 to complete your account registration", ["333444"], id="registration code"),
    pytest.param(TemplateType.RECOVERY_CODE_INVALID, {}, "Account access attempted",
                 ["not on our database"], id="recovery code, unknown address"),
    pytest.param(TemplateType.RECOVERY_INVALID, {}, "Account access attempted", ["not on our database"],
                 id="recovery link, unknown address"),
    pytest.param(TemplateType.VERIFICATION_CODE_INVALID, {}, "Someone tried to verify this email address",
                 ["unable to find an account"], id="verification code, unknown address"),
    pytest.param(TemplateType.VERIFICATION_INVALID, {}, "Someone tried to verify this email address",
                 ["unable to find an account"], id="verification link, unknown address"),
]


@pytest.mark.parametrize(("kind", "data", "subject", "contains"), CASES)
def test_builtin_templates(kind: TemplateType, data: dict, subject: str, contains: list[str]) -> None:
    rendered = Templates().render(kind, {"to": "ada@example.com", **data})
    assert rendered.subject == subject
    for text in contains:
        assert text in rendered.body and text in rendered.body_html
    assert rendered.body_html.startswith("<!DOCTYPE html>") and "{{" not in rendered.body_html + rendered.body


def test_the_html_body_escapes_what_it_is_given() -> None:
    rendered = Templates().render(TemplateType.VERIFICATION_VALID,
                                  {"verification_url": 'https://a.example/?x="><script>alert(1)</script>'})
    assert "<script>" not in rendered.body_html and "&lt;script&gt;" in rendered.body_html
    assert "<script>" in rendered.body  # plain text is not HTML


def write(root: Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_override_directory_in_kratos_layout_with_go_style_fields(tmp_path: Path) -> None:
    write(tmp_path, "verification_code/valid/email.subject.gotmpl",
          "{{ .VerificationCode }} is your Example code, {{ .Identity.traits.email }}")
    write(tmp_path, "verification_code/valid/email.body.gotmpl",
          "<h1>Hello {{ Identity.traits.email }}</h1>{% if VerificationURL %}<a href='{{ VerificationURL }}'>go"
          "</a>{% endif %}")
    templates = Templates(str(tmp_path))
    rendered = templates.render(TemplateType.VERIFICATION_CODE_VALID, {**VERIFY, "identity": IDENTITY})
    assert rendered.subject == "123456 is your Example code, ada@example.com"
    assert rendered.body_html == "<h1>Hello ada@example.com</h1><a href='https://app.example/verify?code=123456'>go</a>"
    assert rendered.body.startswith("Verify your account with the following code:")  # no override: built-in
    other = templates.render(TemplateType.LOGIN_CODE_VALID, {"login_code": "5"})
    assert other.subject == "Use code 5 to log in"


def test_a_broken_override_stops_start_up_naming_the_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, "recovery_code/valid/email.body.plaintext.gotmpl",
          "line one\n{{ if .RecoveryCode }}{{ .RecoveryCode }}{{ end }}\n")
    with pytest.raises(ConfigError) as caught:
        Templates(str(tmp_path))
    (problem,) = caught.value.problems
    assert problem.file.endswith("recovery_code/valid/email.body.plaintext.gotmpl") and problem.line == 2


def test_a_missing_override_directory_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not a directory"):
        Templates(str(tmp_path / "nope"))


def test_inline_templates_as_kratos_win_over_the_override_directory(tmp_path: Path) -> None:
    write(tmp_path, "dir/login_code/valid/email.subject.gotmpl", "from the directory {{ .LoginCode }}")
    write(tmp_path, "dir/login_code/valid/email.body.gotmpl", "<p>directory {{ .LoginCode }}</p>")
    write(tmp_path, "inline-body.gotmpl", "<p>inline file {{ .LoginCode }}</p>")
    subject = base64.b64encode(b"inline {{ .LoginCode }} \xe2\x9c\x93").decode().rstrip("=")
    templates = Templates(str(tmp_path / "dir"), {
        "login_code/valid/email.subject.gotmpl": f"base64://{subject}",
        "login_code/valid/email.body.gotmpl": f"file://{tmp_path}/inline-body.gotmpl",
    })
    rendered = templates.render(TemplateType.LOGIN_CODE_VALID, {"login_code": "42"})
    assert rendered.subject == "inline 42 \u2713"
    assert rendered.body_html == "<p>inline file 42</p>"
    assert rendered.body.startswith("Login to your account")


def test_an_unreadable_inline_template_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="courier.templates"):
        Templates("", {"login_code/valid/email.subject.gotmpl": f"file://{tmp_path}/missing.gotmpl"})


async def test_an_overridden_template_is_what_the_recipient_receives(
        store: Store, sink: SmtpSink, tmp_path: Path, courier_config: Callable[..., Config]) -> None:
    write(tmp_path, "login_code/valid/email.subject.gotmpl", "Your Example sign-in code: {{ .LoginCode }}")
    write(tmp_path, "login_code/valid/email.body.plaintext.gotmpl", "Code: {{ LoginCode }}\n")
    write(tmp_path, "login_code/valid/email.body.gotmpl", "<p>Code: <b>{{ LoginCode }}</b></p>")
    config = courier_config(sink.uri(query="disable_starttls=true"), template_override_path=str(tmp_path))
    courier = Courier(config, store)
    async with running(courier):
        await courier.enqueue_email("ada@example.com", "login_code_valid", {"login_code": "246810"})
        (mail,) = await sink.wait_for(1)
    assert mail.message["Subject"] == "Your Example sign-in code: 246810"
    assert mail.part("text/plain").strip() == "Code: 246810"
    assert mail.part("text/html").strip() == "<p>Code: <b>246810</b></p>"


async def test_a_template_reaching_for_python_internals_fails_without_queueing(
        store: Store, tmp_path: Path, courier_config: Callable[..., Config]) -> None:
    write(tmp_path, "login_code/valid/email.subject.gotmpl", "{{ LoginCode.__class__.__mro__[1].__subclasses__() }}")
    courier = Courier(courier_config(None, template_override_path=str(tmp_path)), store)
    with pytest.raises(GatekeeperError):
        await courier.enqueue_email("ada@example.com", "login_code_valid", {"login_code": "1"})
    assert await store.courier_messages() == []


async def test_a_code_template_without_its_code_is_a_programming_error(
        store: Store, courier_config: Callable[..., Config]) -> None:
    courier = Courier(courier_config(None), store)
    with pytest.raises(ValueError, match="verification_code"):
        await courier.enqueue_email("ada@example.com", "verification_code_valid", {"verification_url": "x"})
