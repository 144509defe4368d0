"""The Go-template subset that Oathkeeper rule files use, compiled once at rule load.

Supported: text, `{{ pipeline }}` with `|` pipes, fields (`.Subject`, `.Extra.a.b`, `.Header`,
`.MatchContext.{RegexpCaptureGroups,URL,Method,Header}`), methods `.Get "x"` on header and query
maps, `$`, string/number/bool/nil literals, parentheses, `{{- -}}` trimming, comments, `if`/`else`/`end`,
and the functions in `FUNCTIONS` (Oathkeeper's `print`/`printIndex` overrides plus the sprig functions
rule files use). Anything else is a `TemplateError` at load time, naming the construct.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from gatekeeper.access.template_values import (
    FUNCTIONS,
    NO_VALUE,
    HeaderMap,
    NoValue,
    QueryMap,
    TemplateError,
    URLView,
    go_print,
    go_str,
    is_empty,
)

__all__ = ["FUNCTIONS", "HeaderMap", "NoValue", "QueryMap", "Template", "TemplateError", "URLView",
           "compile_template", "go_str"]

Data = Mapping[str, Any]
Eval = Callable[..., Any]


ROOT_FIELDS = frozenset({"Subject", "Extra", "Header", "MatchContext"})
_TOKEN = re.compile(r"""\s*(?:(?P<str>"(?:[^"\\]|\\.)*"|`[^`]*`)|(?P<num>-?\d+(?:\.\d+)?)"""
                    r"""|(?P<field>(?:\.[A-Za-z_]\w*)+|\.)|(?P<var>\$(?:\.[A-Za-z_]\w*)*)|(?P<ident>[A-Za-z_]\w*)|(?P<punct>[|()]))""")
_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.DOTALL)


def _attr(value: Any, name: str) -> Any:
    if type(value) is dict or isinstance(value, Mapping):
        return value.get(name, NO_VALUE)
    if value is None or isinstance(value, NoValue):
        return NO_VALUE
    if not name[:1].isupper() or not hasattr(value, name):  # Go's exported names only: no Python methods
        raise TemplateError(f"can't evaluate field {name} in type {type(value).__name__}")
    return getattr(value, name)


def _call(method: Callable[..., Any], args: list[Any]) -> Any:
    """A method value called, as Go calls it; wrong arguments are a `TemplateError`."""
    try:
        return method(*args)
    except TemplateError:
        raise
    except Exception as exc:  # noqa: BLE001 - e.g. `.Header.Get` without a name
        raise TemplateError(f"error calling {getattr(method, '__name__', 'method')}: {exc}") from None


def _resolve(value: Any) -> Any:
    """A method value where a value is wanted (an argument, a whole action): called without arguments."""
    return _call(value, []) if callable(value) else value


def _niladic(name: str) -> Eval:
    """A function named as an argument (`print len`): called without arguments, as Go does."""
    return lambda dot, root: _call(FUNCTIONS[name], [])


def _field_eval(path: list[str], from_root: bool) -> Eval:
    def run(dot: Any, root: Any = None) -> Any:
        value = root if from_root else dot
        for name in path:
            value = _attr(value, name)
        return value

    return run


_MAX_DEPTH = 50


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise TemplateError(f"unsupported syntax near {text[pos:pos + 20]!r}")
            kind = m.lastgroup or ""
            self.tokens.append((kind, m.group(kind)))
            pos = m.end()
            while pos < len(text) and text[pos].isspace():
                pos += 1
        self.i = 0
        self.depth = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def pipeline(self) -> Callable[[Any, Any], Any]:
        commands = [self.command()]
        while (tok := self.peek()) and tok == ("punct", "|"):
            self.i += 1
            commands.append(self.command())

        def run(dot: Any, root: Any) -> Any:
            value = commands[0](dot, root, None)
            for cmd in commands[1:]:
                value = cmd(dot, root, (value,))
            return value

        return run

    def command(self) -> Callable[[Any, Any, tuple[Any, ...] | None], Any]:
        operands = []
        while (tok := self.peek()) and tok not in (("punct", "|"), ("punct", ")")):
            operands.append(self.operand())
        if not operands:
            raise TemplateError("empty command")
        head_kind, head = operands[0]
        args = [fn if kind == "value" else _niladic(fn) for kind, fn in operands[1:]]
        if head_kind == "func":
            func = FUNCTIONS[head]

            def call(dot: Any, root: Any, piped: tuple[Any, ...] | None) -> Any:
                values = [_resolve(a(dot, root)) for a in args] + list(piped or ())
                try:
                    return func(*values)
                except TemplateError:
                    raise
                except Exception as exc:  # noqa: BLE001 - any function failure is a template error
                    raise TemplateError(f"error calling {head}: {exc}") from None

            return call

        def value(dot: Any, root: Any, piped: tuple[Any, ...] | None) -> Any:
            result = head(dot, root)
            if callable(result):
                return _call(result, [*(_resolve(a(dot, root)) for a in args), *(piped or ())])
            if args or piped:
                raise TemplateError("can't give an argument to a non-function")
            return result

        return value

    def operand(self) -> tuple[str, Any]:
        kind, text = self.tokens[self.i]
        self.i += 1
        if kind == "str":
            try:
                s = json.loads(text) if text.startswith('"') else text[1:-1]
            except ValueError:
                raise TemplateError(f"invalid string literal {text[:40]}") from None
            return "value", lambda d, r: s
        if kind == "num":
            if len(text) > 40:
                raise TemplateError(f"number too long: {text[:20]}...")
            n = float(text) if "." in text else int(text)
            return "value", lambda d, r: n
        if kind == "field":
            path = [p for p in text.split(".") if p]
            return "value", _field_eval(path, from_root=False)
        if kind == "var":
            path = [p for p in text[1:].split(".") if p]
            f = _field_eval(path, from_root=True)
            return "value", lambda d, r: f(d, r)
        if kind == "ident":
            if text in ("true", "false"):
                b = text == "true"
                return "value", lambda d, r: b
            if text == "nil":
                return "value", lambda d, r: None
            if text not in FUNCTIONS:
                raise TemplateError(f"function {text!r} is not supported")
            return "func", text
        if (kind, text) == ("punct", "("):
            self.depth += 1
            if self.depth > _MAX_DEPTH:
                raise TemplateError(f"more than {_MAX_DEPTH} nested parentheses")
            inner = self.pipeline()
            self.depth -= 1
            if self.peek() != ("punct", ")"):
                raise TemplateError("unclosed '('")
            self.i += 1
            return "value", inner
        raise TemplateError(f"unexpected {text!r}")


def _compile_action(text: str) -> Callable[[Any, Any], Any]:
    parser = _Parser(text)
    if not parser.tokens:
        raise TemplateError("empty action {{ }}")
    run = parser.pipeline()
    if parser.peek() is not None:
        raise TemplateError(f"unexpected {parser.peek()[1]!r}")  # type: ignore[index]
    _check_root_fields(text)
    return run


def _check_root_fields(text: str) -> None:
    for m in re.finditer(r"(?<![\w)\]$])\.([A-Za-z_]\w*)", re.sub(r'"(?:[^"\\]|\\.)*"|`[^`]*`', '""', text)):
        if m.group(1) not in ROOT_FIELDS and m.group(1) not in ("Get",):
            raise TemplateError(f"unknown field .{m.group(1)} (available: .Subject, .Extra, .Header, .MatchContext)")


Node = Callable[[Any, list[str]], None]


_SIMPLE = re.compile(r"^\{\{-?\s*(print\s+)?((?:\.[A-Za-z_]\w*)+)\s*-?\}\}$")


class Template:
    """A compiled template: `render(data)` never parses. `{{ print .A.b }}` / `{{ .A.b }}` take a fast path."""

    __slots__ = ("source", "_nodes", "render")
    render: Callable[[Any], str]

    def __init__(self, source: str) -> None:
        self.source = source
        self._nodes = _compile(source)
        simple = _SIMPLE.match(source.strip()) if source.strip() == source else None
        if simple:
            path = tuple(p for p in simple.group(2).split(".") if p)
            fmt = go_print if simple.group(1) else go_str
            self.render = lambda data: fmt(_resolve(_walk(data, path)))
        else:
            self.render = self._render

    def _render(self, data: Any) -> str:
        out: list[str] = []
        for node in self._nodes:
            node(data, out)
        return "".join(out)


def _literal(text: str) -> Node:
    def node(data: Any, out: list[str]) -> None:
        out.append(text)

    return node


def _output(action: Callable[[Any, Any], Any]) -> Node:
    def node(data: Any, out: list[str]) -> None:
        out.append(go_str(_resolve(action(data, data))))

    return node


def _walk(value: Any, path: tuple[str, ...]) -> Any:
    for name in path:
        value = value.get(name, NO_VALUE) if type(value) is dict else _attr(value, name)
    return value


def _compile(source: str) -> list[Node]:
    stack: list[tuple[list[Node], Any]] = [([], None)]
    pos = 0
    pending_trim = False
    for m in _ACTION.finditer(source):
        text = source[pos:m.start()]
        if pending_trim:
            text = text.lstrip()
        if m.group(1):
            text = text.rstrip()
        pending_trim = bool(m.group(3))
        if text:
            stack[-1][0].append(_literal(text))
        pos = m.end()
        body = m.group(2).strip()
        if body.startswith("/*"):
            if not body.endswith("*/"):
                raise TemplateError("unclosed comment")
            continue
        word = body.split(None, 1)[0] if body else ""
        if word == "if":
            if len(stack) > _MAX_DEPTH:
                raise TemplateError(f"more than {_MAX_DEPTH} nested {{{{ if }}}}")
            stack.append(([], ("if", _compile_action(body[2:]), None)))
        elif word == "else":
            nodes, ctl = stack.pop()
            if not ctl or ctl[0] != "if" or ctl[2] is not None:
                raise TemplateError("{{ else }} without {{ if }}")
            rest = body[4:].strip()
            if rest:
                raise TemplateError("{{ else if }} is not supported; nest {{ if }} instead")
            stack.append(([], ("if", ctl[1], nodes)))
        elif word == "end":
            nodes, ctl = stack.pop()
            if not ctl:
                raise TemplateError("{{ end }} without {{ if }}")
            cond, then = ctl[1], ctl[2]
            then_nodes, else_nodes = (nodes, []) if then is None else (then, nodes)
            stack[-1][0].append(_if_node(cond, then_nodes, else_nodes))
        elif word in ("range", "with", "define", "template", "block", "break", "continue") or body.startswith("$") \
                and ":=" in body:
            raise TemplateError(f"{{{{ {word} }}}} is not supported")
        else:
            action = _compile_action(body)
            stack[-1][0].append(_output(action))
    if len(stack) != 1:
        raise TemplateError("{{ if }} without {{ end }}")
    tail = source[pos:]
    if pending_trim:
        tail = tail.lstrip()
    if "{{" in tail:
        raise TemplateError("unclosed action '{{'")
    if tail:
        stack[0][0].append(_literal(tail))
    return stack[0][0]


def _if_node(cond: Callable[[Any, Any], Any], then: list[Node], other: list[Node]) -> Node:
    def run(data: Any, out: list[str]) -> None:
        for node in (other if is_empty(cond(data, data)) else then):
            node(data, out)

    return run


def compile_template(source: str) -> Template:
    return Template(source)
