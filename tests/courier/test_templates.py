"""Templates as Kratos loads them: Go templates in Kratos' layout and inline URIs, escaped HTML, fallbacks."""

from __future__ import annotations

import base64
import contextlib
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gatekeeper.config import Config, ConfigError
from gatekeeper.errors import GatekeeperError
from gatekeeper.identity.courier import Courier, TemplateType
from gatekeeper.identity.courier.templates import Templates
from gatekeeper.store import Store
from tests.courier.conftest import VERIFY, running
from tests.support.smtp import SmtpSink

IDENTITY = {"id": "9f5a", "traits": {"email": "ada@example.com", "name": {"first": "Ada"}, "lang": "de"}}
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
    assert "<no value>" not in rendered.body + rendered.body_html  # absent fields are Go's zero values


def test_the_html_body_escapes_what_it_is_given() -> None:
    rendered = Templates().render(TemplateType.VERIFICATION_VALID,
                                  {"verification_url": 'https://a.example/?x="><script>alert(1)</script>'})
    assert "<script>" not in rendered.body_html and "&lt;script&gt;" in rendered.body_html
    assert "<script>" in rendered.body  # plain text is not HTML


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_an_override_directory_in_kratos_layout_renders_as_kratos(tmp_path: Path) -> None:
    folder = "verification_code/valid"
    write(tmp_path, f"{folder}/email.subject.gotmpl",
          "{{ .VerificationCode }} is your Example code{{ with .Identity.traits.name }}, {{ .first }}{{ end }}\n")
    write(tmp_path, f"{folder}/email.body.gotmpl",
          '{{- if eq .Identity.traits.lang "de" -}}{{ template "email.body.de.gotmpl" . }}'
          '{{- else -}}<p>Hello</p>{{- end }}')
    write(tmp_path, f"{folder}/email.body.de.gotmpl",
          '<h1>Hallo {{ .Identity.traits.name.first | upper }}</h1><a href="{{ .VerificationURL }}">'
          "{{ .VerificationCode }}</a>{{ range $i, $t := .Identity.tags }}{{ $t }}{{ else }} ({{ .To }}){{ end }}")
    templates = Templates(str(tmp_path))
    rendered = templates.render(TemplateType.VERIFICATION_CODE_VALID,
                                {**VERIFY, "identity": IDENTITY, "to": "ada@example.com"})
    assert rendered.subject == "123456 is your Example code, Ada"
    assert rendered.body_html == ('<h1>Hallo ADA</h1><a href="https://app.example/verify?code=123456">123456</a>'
                                  " (ada@example.com)")
    assert rendered.body.startswith("Verify your account with the following code:")  # no override: built-in
    other = templates.render(TemplateType.LOGIN_CODE_VALID, {"login_code": "5"})
    assert other.subject == "Use code 5 to log in"  # a folder the directory lacks: built-in


def test_invalid_variants_are_overridden_in_their_own_folder(tmp_path: Path) -> None:
    write(tmp_path, "recovery_code/invalid/email.subject.gotmpl", "Recovery asked for {{ .To }}")
    write(tmp_path, "recovery_code/invalid/email.body.plaintext.gotmpl",
          "Someone at {{ .RequestURL | default \"an unknown page\" }} asked.{{ if .TransientPayload }}x{{ end }}\n")
    templates = Templates(str(tmp_path))
    rendered = templates.render(TemplateType.RECOVERY_CODE_INVALID, {"to": "eve@example.com"})
    assert rendered.subject == "Recovery asked for eve@example.com"
    assert rendered.body == "Someone at an unknown page asked.\n"
    assert "not on our database" in rendered.body_html  # the HTML body was not overridden: built-in
    valid = templates.render(TemplateType.RECOVERY_CODE_VALID, {"recovery_code": "1"})
    assert valid.subject == "Use code 1 to recover access to your account"  # the valid folder is untouched


def test_sprig_functions_in_override_templates(tmp_path: Path) -> None:
    write(tmp_path, "login_code/valid/email.body.plaintext.gotmpl",
          '{{ $name := .Identity.traits.name.first | default "there" }}Hi {{ $name | title }},\n'
          '{{ .LoginCode | splitList "" | join " " }} ({{ .ExpiresInMinutes }} {{ plural "minute" "minutes" '
          ".ExpiresInMinutes }}){{ if not (hasKey .Identity.traits \"phone\") }} - no phone{{ end }}\n"
          '{{ printf "%.3s" .To | upper }}{{ .TransientPayload.ref | default "-" | quote }}\n')
    rendered = Templates(str(tmp_path)).render(TemplateType.LOGIN_CODE_VALID, {
        "login_code": "4711", "expires_in_minutes": 1, "to": "ada@example.com",
        "identity": {"traits": {"email": "ada@example.com"}}})
    assert rendered.body == 'Hi There,\n4 7 1 1 (1 minute) - no phone\nADA"-"\n'


def test_html_overrides_escape_by_context(tmp_path: Path) -> None:
    write(tmp_path, "recovery/valid/email.body.gotmpl",
          '<p title="{{ .Identity.traits.email }}">{{ .Identity.traits.email }}</p><a href="{{ .RecoveryURL }}">go</a>')
    email = '"><img src=x onerror=alert(1)>@example.com'
    rendered = Templates(str(tmp_path)).render(TemplateType.RECOVERY_VALID, {
        "recovery_url": "javascript:alert(1)", "identity": {"traits": {"email": email}}})
    assert "<img" not in rendered.body_html
    assert rendered.body_html == ('<p title="&#34;&gt;&lt;img src=x onerror=alert(1)&gt;@example.com">'
                                  "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;@example.com</p>"
                                  '<a href="#ZgotmplZ">go</a>')


def test_a_broken_override_stops_start_up_naming_the_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "recovery_code/valid/email.body.plaintext.gotmpl",
                 "line one\n{{ if .RecoveryCode }}{{ .RecoveryCode }}\n")
    write(tmp_path, "login_code/valid/email.subject.gotmpl", "Code {{ LoginCode }}")
    with pytest.raises(ConfigError) as caught:
        Templates(str(tmp_path))
    found = {(p.file, p.line, p.path): p.message for p in caught.value.problems}
    assert set(found) == {(str(path), 3, "courier.template_override_path"),
                          (str(tmp_path / "login_code/valid/email.subject.gotmpl"), 1,
                           "courier.template_override_path")}
    assert "missing {{ end }}" in found[str(path), 3, "courier.template_override_path"]
    assert "{{ .LoginCode }}" in str(caught.value)  # the hint for a field written without its dot


def test_a_field_the_template_type_does_not_have_stops_start_up(tmp_path: Path) -> None:
    path = write(tmp_path, "recovery_code/valid/email.body.gotmpl", "<p>\n{{ .RecoveryCode }} {{ .LoginCode }}</p>")
    with pytest.raises(ConfigError) as caught:
        Templates(str(tmp_path))
    (problem,) = caught.value.problems
    assert (problem.file, problem.line) == (str(path), 2)
    assert "recovery_code_valid templates have no field .LoginCode" in problem.message
    assert ".RecoveryCode" in problem.message  # the fields it has


def test_a_jinja2_override_is_named_and_works_renamed_to_j2(tmp_path: Path) -> None:
    jinja = "Code: {% if LoginCode %}{{ LoginCode }}{% endif %}\n"
    path = write(tmp_path, "login_code/valid/email.body.plaintext.gotmpl", jinja)
    with pytest.raises(ConfigError, match=r"is jinja2, not Go template syntax.*rename the file to \.j2") as caught:
        Templates(str(tmp_path))
    assert caught.value.problems[0].file == str(path) and caught.value.problems[0].line == 1
    path.rename(path.with_suffix(".j2"))
    rendered = Templates(str(tmp_path)).render(TemplateType.LOGIN_CODE_VALID, {"login_code": "77"})
    assert rendered.body == "Code: 77\n"


def test_a_missing_override_directory_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not a directory"):
        Templates(str(tmp_path / "nope"))


def test_inline_templates_as_kratos_win_over_the_override_directory(tmp_path: Path) -> None:
    write(tmp_path, "dir/login_code/valid/email.subject.gotmpl", "from the directory {{ .LoginCode }}")
    write(tmp_path, "dir/login_code/valid/email.body.gotmpl", "<p>directory {{ .LoginCode }}</p>")
    write(tmp_path, "inline-body.gotmpl", "<p>inline file {{ .LoginCode }}{{ if .Identity }}!{{ end }}</p>")
    subject = base64.b64encode("inline {{ .LoginCode | printf \"%q\" }} \u2713".encode()).decode().rstrip("=")
    templates = Templates(str(tmp_path / "dir"), {
        "login_code.valid.email.subject": f"base64://{subject}",
        "login_code.valid.email.body.html": f"file://{tmp_path}/inline-body.gotmpl",
    })
    rendered = templates.render(TemplateType.LOGIN_CODE_VALID, {"login_code": "42"})
    assert rendered.subject == 'inline "42" \u2713'
    assert rendered.body_html == "<p>inline file 42</p>"
    assert rendered.body.startswith("Login to your account")


@contextlib.contextmanager
def template_server(files: dict[str, str]) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 serving `files` by path (404 for anything else)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = files.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.end_headers()
            self.wfile.write((body or "not found").encode())

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_inline_templates_over_http_are_fetched_once_at_start() -> None:
    with template_server({"/subject.gotmpl": "Remote {{ .RecoveryCode }}"}) as base:
        templates = Templates("", {"recovery_code.valid.email.subject": f"{base}/subject.gotmpl"})
        with pytest.raises(ConfigError) as caught:
            Templates("", {"recovery_code.invalid.email.body.plaintext": f"{base}/missing.gotmpl"})
    assert templates.render(TemplateType.RECOVERY_CODE_VALID, {"recovery_code": "9"}).subject == "Remote 9"
    (problem,) = caught.value.problems
    assert problem.path == "courier.templates.recovery_code.invalid.email.body.plaintext" and "404" in problem.message


def test_an_inline_template_that_does_not_parse_names_its_key() -> None:
    broken = base64.b64encode(b"{{ range .Identity }}").decode()
    with pytest.raises(ConfigError) as caught:
        Templates("", {"verification.invalid.email.subject": f"base64://{broken}"})
    (problem,) = caught.value.problems
    assert problem.path == "courier.templates.verification.invalid.email.subject"
    assert problem.message.endswith("... line 1: unexpected EOF: missing {{ end }}")


def test_an_unreadable_inline_template_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="courier.templates.login_code.valid.email.subject"):
        Templates("", {"login_code.valid.email.subject": f"file://{tmp_path}/missing.gotmpl"})


async def test_an_overridden_template_is_what_the_recipient_receives(
        store: Store, sink: SmtpSink, tmp_path: Path, courier_config: Callable[..., Config]) -> None:
    write(tmp_path, "login_code/valid/email.subject.gotmpl", "Your Example sign-in code: {{ .LoginCode }}")
    write(tmp_path, "login_code/valid/email.body.plaintext.gotmpl",
          "{{ range $i, $d := .LoginCode | splitList \"\" }}{{ if $i }}-{{ end }}{{ $d }}{{ end }}\n")
    write(tmp_path, "login_code/valid/email.body.gotmpl", "<p>Code: <b>{{ .LoginCode }}</b> for {{ .To }}</p>")
    config = courier_config(sink.uri(query="disable_starttls=true"), template_override_path=str(tmp_path),
                            templates={"login_code": {"invalid": {"email": {"subject": "base64://eA"}}}})
    courier = Courier(config, store)
    async with running(courier):
        await courier.enqueue_email("ada+1@example.com", "login_code_valid", {"login_code": "246810"})
        (mail,) = await sink.wait_for(1)
    assert mail.message["Subject"] == "Your Example sign-in code: 246810"
    assert mail.part("text/plain").strip() == "2-4-6-8-1-0"
    assert mail.part("text/html").strip() == "<p>Code: <b>246810</b> for ada&#43;1@example.com</p>"


async def test_a_template_failing_at_send_time_is_not_queued(
        store: Store, tmp_path: Path, courier_config: Callable[..., Config]) -> None:
    write(tmp_path, "login_code/valid/email.subject.gotmpl", "{{ index .Identity.traits.codes 3 }}")
    write(tmp_path, "recovery_code/valid/email.subject.gotmpl", "{{ .RecoveryCode.__class__ }}")
    courier = Courier(courier_config(None, template_override_path=str(tmp_path)), store)
    with pytest.raises(GatekeeperError) as caught:
        await courier.enqueue_email("ada@example.com", "login_code_valid",
                                    {"login_code": "1", "identity": {"traits": {"codes": ["a"]}}})
    assert caught.value.reason == "the login_code_valid e-mail template failed to render"
    with pytest.raises(GatekeeperError):
        await courier.enqueue_email("ada@example.com", "recovery_code_valid", {"recovery_code": "1"})
    assert await store.courier_messages() == []


async def test_a_code_template_without_its_code_is_a_programming_error(
        store: Store, courier_config: Callable[..., Config]) -> None:
    courier = Courier(courier_config(None), store)
    with pytest.raises(ValueError, match="verification_code"):
        await courier.enqueue_email("ada@example.com", "verification_code_valid", {"verification_url": "x"})
