"""Oathkeeper's rule templates: Go templates (gatekeeper.gotemplate) compiled once at rule load.

The data's top level is Oathkeeper's AuthenticationSession: `.Subject`, `.Extra`, `.Header`,
`.MatchContext.{RegexpCaptureGroups,URL,Method,Header}`; a template reading any other top-level field is a
`TemplateError` at load time, as is anything that does not parse.
"""

from __future__ import annotations

from gatekeeper.access.template_values import RULE_FUNCTIONS, HeaderMap, QueryMap, URLView
from gatekeeper.gotemplate import NoValue, Template, TemplateError, go_str
from gatekeeper.gotemplate import compile_template as compile_go

__all__ = ["HeaderMap", "NoValue", "QueryMap", "Template", "TemplateError", "URLView", "compile_template", "go_str"]

ROOT_FIELDS = frozenset({"Subject", "Extra", "Header", "MatchContext"})


def compile_template(source: str) -> Template:
    """A rule template, checked against Oathkeeper's session fields."""
    template = compile_go(source, name="", funcs=RULE_FUNCTIONS)
    unknown = sorted(template.root_fields - ROOT_FIELDS)
    if unknown:
        raise TemplateError(f"unknown field .{unknown[0]} (available: .Subject, .Extra, .Header, .MatchContext)")
    return template
