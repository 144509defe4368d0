"""Override files named `*.j2`: jinja2 templates, as gatekeeper read its courier templates before it
rendered Go templates. Kept so such files keep working once renamed; new templates are `*.gotmpl`.

Variables are Kratos' Go names (`{{ VerificationCode }}`) and the template_data keys (`{{ verification_code }}`);
the HTML body is autoescaped; templates run in jinja2's sandbox.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from gatekeeper.gotemplate import TemplateError

# jinja2 statements in a `.gotmpl` file: a template written for the jinja2 courier, not renamed
JINJA_STATEMENT = re.compile(r"\{%-?\s*(if|for|set|block|extends|include|macro|endif|endfor|else|elif)\b")
_TEXT = ImmutableSandboxedEnvironment(autoescape=False, keep_trailing_newline=True)
_HTML = ImmutableSandboxedEnvironment(autoescape=True, keep_trailing_newline=True)


class JinjaTemplate:
    """One `.j2` file, compiled at start; render errors are `TemplateError`s like a Go template's."""

    def __init__(self, source: str, *, name: str, html: bool) -> None:
        self.name = name
        try:
            self._template = (_HTML if html else _TEXT).from_string(source)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(exc.message or "syntax error", exc.lineno, name) from None

    def render(self, context: Mapping[str, Any]) -> str:
        """`context`: Kratos' Go names and the template_data keys."""
        try:
            return self._template.render(context)
        except jinja2.TemplateError as exc:
            raise TemplateError(exc.message or type(exc).__name__, name=self.name) from None
