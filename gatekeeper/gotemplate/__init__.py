"""Go's text/template and html/template, in Python: parse once, render many.

The language (actions, pipelines, variables, `if`/`range`/`with`/`define`/`template`/`block`), Go's
predefined functions and Sprig's hermetic text functions; HTML templates escape each output by its context.
Used for Oathkeeper's rule templates (access) and Kratos' courier templates (identity).
"""

from __future__ import annotations

from gatekeeper.gotemplate.builtins import sprintf
from gatekeeper.gotemplate.template import FUNCTIONS, Functions, Template, compile_files, compile_template
from gatekeeper.gotemplate.values import NO_VALUE, NoValue, TemplateError, go_str, is_missing, sprint, truth

__all__ = ["FUNCTIONS", "NO_VALUE", "Functions", "NoValue", "Template", "TemplateError", "compile_files",
           "compile_template", "go_str", "is_missing", "sprint", "sprintf", "truth"]
