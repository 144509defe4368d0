"""E-mail templates: Kratos' template types and file layout, rendered with jinja2 (compiled once at start).

An override directory (`courier.template_override_path`) uses Kratos' layout,
`<name>/<valid|invalid>/email.subject.gotmpl`, `email.body.gotmpl` (HTML, autoescaped) and
`email.body.plaintext.gotmpl`; a file it lacks falls back to the built-in one, as in Kratos.
Differences from Kratos: the files are read as jinja2, not Go templates. Plain substitutions
(`{{ .VerificationCode }}`, `{{ .Identity.traits.email }}`) are accepted as written; Go actions such as
`{{ if }}`, `{{ range }}` or Sprig functions must be rewritten in jinja2 (`{% if %}`, filters).
Templates run in jinja2's sandbox.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    DictLoader,
    Environment,
    FileSystemLoader,
    TemplateError,
    TemplateSyntaxError,
)
from jinja2 import Template as Jinja
from jinja2.sandbox import ImmutableSandboxedEnvironment

from gatekeeper.config.problems import ConfigError, ConfigProblem
from gatekeeper.identity.courier.builtin import TEMPLATES


class TemplateType(StrEnum):
    """Kratos' `template_type` values for e-mail."""

    RECOVERY_INVALID = "recovery_invalid"
    RECOVERY_VALID = "recovery_valid"
    RECOVERY_CODE_INVALID = "recovery_code_invalid"
    RECOVERY_CODE_VALID = "recovery_code_valid"
    VERIFICATION_INVALID = "verification_invalid"
    VERIFICATION_VALID = "verification_valid"
    VERIFICATION_CODE_INVALID = "verification_code_invalid"
    VERIFICATION_CODE_VALID = "verification_code_valid"
    LOGIN_CODE_VALID = "login_code_valid"
    REGISTRATION_CODE_VALID = "registration_code_valid"

    @property
    def folder(self) -> str:
        """`verification_code_valid` -> `verification_code/valid` (Kratos' directory layout)."""
        name, _, validity = self.value.rpartition("_")
        return f"{name}/{validity}"


# template_data keys (Kratos' JSON names) each template needs to make sense
REQUIRED: dict[TemplateType, tuple[str, ...]] = {
    TemplateType.RECOVERY_VALID: ("recovery_url",),
    TemplateType.RECOVERY_CODE_VALID: ("recovery_code",),
    TemplateType.VERIFICATION_VALID: ("verification_url",),
    TemplateType.VERIFICATION_CODE_VALID: ("verification_code",),
    TemplateType.LOGIN_CODE_VALID: ("login_code",),
    TemplateType.REGISTRATION_CODE_VALID: ("registration_code",),
}
SUBJECT, HTML, PLAINTEXT = "email.subject.gotmpl", "email.body.gotmpl", "email.body.plaintext.gotmpl"
_ACRONYMS = {"url": "URL", "id": "ID"}
_GO_FIELD = re.compile(r"\{\{(-?)\s*\.([A-Za-z_][A-Za-z0-9_.]*)\s*(-?)\}\}")
_GO_ACTION = re.compile(r"\{\{-?\s*(if|else|end|range|with|define|template|block)\b")


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    body: str
    body_html: str


def go_name(key: str) -> str:
    """Kratos' Go field name for a template_data key: `verification_url` -> `VerificationURL`."""
    return "".join(_ACRONYMS.get(part, part.capitalize()) for part in key.split("_"))


class _GoFields(BaseLoader):
    """Reads operator templates through `inner`, turning Go's `{{ .Field }}` into jinja2's `{{ Field }}`."""

    def __init__(self, inner: BaseLoader) -> None:
        self.inner = inner

    def get_source(self, environment: Environment, template: str) -> tuple[str, str | None, Callable[[], bool] | None]:
        source, filename, uptodate = self.inner.get_source(environment, template)
        for lineno, line in enumerate(source.splitlines(), start=1):
            if action := _GO_ACTION.search(line):
                raise TemplateSyntaxError(
                    f"the Go template action {{{{ {action.group(1)} }}}} is not supported: write it in jinja2 "
                    f"({{% {action.group(1)} %}})", lineno, template, filename)
        return _GO_FIELD.sub(r"{{\1 \2 \3}}", source), filename, uptodate


class Templates:
    """Every template type's subject, HTML and plain-text template, compiled and checked at start.

    Precedence as in Kratos: `courier.templates` URIs, then the override directory, then the built-in ones.
    """

    def __init__(self, override_path: str = "", inline: Mapping[str, str] | None = None, *,
                 config_file: str = "<config>") -> None:
        loaders: list[BaseLoader] = [DictLoader(TEMPLATES)]
        if override_path:
            if not Path(override_path).is_dir():
                raise ConfigError([ConfigProblem(config_file, None, "courier.template_override_path",
                                                 f"{override_path} is not a directory")])
            loaders.insert(0, _GoFields(FileSystemLoader(override_path)))
        if inline:
            loaders.insert(0, _GoFields(DictLoader(_read_uris(inline, config_file))))
        loader = ChoiceLoader(loaders)
        text = ImmutableSandboxedEnvironment(loader=loader, autoescape=False, keep_trailing_newline=True)
        html = ImmutableSandboxedEnvironment(loader=loader, autoescape=True, keep_trailing_newline=True)
        self._compiled: dict[tuple[TemplateType, str], Jinja] = {}
        problems = []
        for kind in TemplateType:
            for part, env in ((SUBJECT, text), (HTML, html), (PLAINTEXT, text)):
                name = f"{kind.folder}/{part}"
                try:
                    self._compiled[kind, part] = env.get_template(name)
                except TemplateError as exc:
                    where = getattr(exc, "filename", None) or name
                    key = "courier.templates" if inline and name in inline else "courier.template_override_path"
                    problems.append(ConfigProblem(where, getattr(exc, "lineno", None), key, f"{name}: {exc.message}"))
        if problems:
            raise ConfigError(problems)

    def render(self, kind: TemplateType, data: Mapping[str, Any]) -> RenderedEmail:
        """Subject (one line), plain-text and HTML body for `data` (keys as Kratos' template_data JSON)."""
        context = {**data, **{go_name(k): v for k, v in data.items()}}
        subject = self._compiled[kind, SUBJECT].render(context)
        return RenderedEmail(
            subject=" ".join(subject.split()),
            body=self._compiled[kind, PLAINTEXT].render(context),
            body_html=self._compiled[kind, HTML].render(context),
        )


def _read_uris(uris: Mapping[str, str], config_file: str) -> dict[str, str]:
    """The text behind each `file://` or `base64://` URI of `courier.templates`."""
    found, problems = {}, []
    for name, uri in uris.items():
        try:
            if uri.startswith("base64://"):
                raw = uri[len("base64://"):].strip().replace("+", "-").replace("/", "_")  # either alphabet
                found[name] = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode("utf-8")
            elif uri.startswith("file://"):
                found[name] = Path(uri[len("file://"):]).read_text(encoding="utf-8")
            else:
                raise ValueError("expected a file:// or base64:// URI")
        except (OSError, ValueError) as exc:
            problems.append(ConfigProblem(config_file, None, "courier.templates", f"{name}: {uri[:60]}: {exc}"))
    if problems:
        raise ConfigError(problems)
    return found
