"""Splits a Go template into text and action tokens, as Go's text/template/parse lexer does.

Trim markers (`{{- ` and ` -}}`) are applied here; comments (`{{/* */}}`) are dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gatekeeper.gotemplate.values import TemplateError

_TOKEN = re.compile(r"""
    (?P<str>"(?:[^"\\\n]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<char>'(?:[^'\\\n]|\\.)+')
  | (?P<num>[+-]?(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?))
  | (?P<field>(?:\.[A-Za-z_]\w*)+)
  | (?P<var>\$\w*)
  | (?P<ident>[A-Za-z_]\w*)
  | (?P<decl>:=)
  | (?P<punct>[|(),=.])
""", re.VERBOSE)
_TRIM_LEFT = re.compile(r"\{\{-[ \t\r\n]")


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # text | open | close | str | raw | char | num | field | var | ident | decl | punct
    value: str
    line: int
    spaced: bool = False  # white space came before it (Go tells `$x.Y` from `$x .Y`)


def tokenize(source: str) -> list[Token]:
    """Every token of `source`; an action is an `open` token, its tokens, then a `close` token."""
    tokens: list[Token] = []
    pos, line, trim_next = 0, 1, False
    while pos < len(source):
        start = source.find("{{", pos)
        text = source[pos:] if start < 0 else source[pos:start]
        trim_left = start >= 0 and _TRIM_LEFT.match(source, start) is not None
        if trim_next:
            text = text.lstrip(" \t\r\n")
        if trim_left:
            text = text.rstrip(" \t\r\n")
        if text:
            tokens.append(Token("text", text, line))
        line += source.count("\n", pos, len(source) if start < 0 else start)
        if start < 0:
            break
        pos, line, trim_next = _action(source, start + (3 if trim_left else 2), line, tokens)
    return tokens


def _action(source: str, pos: int, line: int, out: list[Token]) -> tuple[int, int, bool]:
    """Tokens of one action from `pos` (after `{{`); returns the position after `}}`, the line, right trim."""
    opened = line
    while pos < len(source) and source[pos] in " \t\r\n":
        line += source[pos] == "\n"
        pos += 1
    if source.startswith("/*", pos):
        end = source.find("*/", pos + 2)
        if end < 0:
            raise TemplateError("unclosed comment", opened)
        line += source.count("\n", pos, end)
        pos = end + 2
        rest = re.compile(r"(\s-)?\}\}").match(source, pos)
        if not rest:
            raise TemplateError("comment ends before closing delimiter", line)
        return rest.end(), line, bool(rest.group(1))
    out.append(Token("open", "{{", opened))
    spaced = False
    while True:
        if pos >= len(source):
            raise TemplateError("unclosed action", opened)
        ch = source[pos]
        if ch in " \t\r\n":
            if source.startswith("-}}", pos + 1):
                out.append(Token("close", "}}", line))
                return pos + 4, line + (ch == "\n"), True
            line += ch == "\n"
            pos += 1
            spaced = True
            continue
        if source.startswith("}}", pos):
            out.append(Token("close", "}}", line))
            return pos + 2, line, False
        m = _TOKEN.match(source, pos)
        if not m:
            raise TemplateError(f"unexpected {source[pos:pos + 10]!r} in action", line)
        kind = m.lastgroup or ""
        value = m.group(kind)
        out.append(Token(kind, value, line, spaced))
        line += value.count("\n")
        pos = m.end()
        spaced = False
