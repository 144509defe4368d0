"""The Go-template subset that Oathkeeper rule files use, compiled once at rule load.

Supported: text, `{{ pipeline }}` with `|` pipes, fields (`.Subject`, `.Extra.a.b`, `.Header`,
`.MatchContext.{RegexpCaptureGroups,URL,Method,Header}`), methods `.Get "x"` on header and query
maps, `$`, string/number/bool/nil literals, parentheses, `{{- -}}` trimming, comments, `if`/`else`/`end`,
and the functions in `FUNCTIONS` (Oathkeeper's `print`/`printIndex` overrides plus the sprig functions
rule files use). Anything else is a `TemplateError` at load time, naming the construct.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, quote_plus

Data = Mapping[str, Any]
Eval = Callable[[Any], Any]


class TemplateError(ValueError):
    """A template that cannot be compiled, or an evaluation that failed (-> 500 at request time)."""


class NoValue:
    """Go's zero value for a missing map key: prints `<no value>` directly, `""` through `print`."""

    def __bool__(self) -> bool:
        return False


NO_VALUE = NoValue()


def go_str(value: Any) -> str:
    """Format like Go's `%v` on decoded JSON values."""
    if value is None or isinstance(value, NoValue):
        return "<no value>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        inner = " ".join(f"{k}:{go_str(value[k])}" for k in sorted(value))
        return f"map[{inner}]"
    if isinstance(value, list | tuple):
        return "[" + " ".join(go_str(v) for v in value) + "]"
    return str(value)


def _print(*args: Any) -> str:
    if len(args) == 1:
        return "" if args[0] is None or isinstance(args[0], NoValue) else go_str(args[0])
    out = ""
    for i, arg in enumerate(args):  # fmt.Sprint: a space between operands when neither is a string
        if i and not isinstance(arg, str) and not isinstance(args[i - 1], str):
            out += " "
        out += "" if arg is None else go_str(arg)
    return out


_VERB = re.compile(r"%([-+# 0]*\d*(?:\.\d+)?)([svdqtfgx%])")


def _printf(fmt: str, *args: Any) -> str:
    values = iter(args)

    def verb(m: re.Match[str]) -> str:
        flags, kind = m.group(1), m.group(2)
        if kind == "%":
            return "%"
        try:
            value = next(values)
        except StopIteration:
            return f"%!{kind}(MISSING)"
        if kind == "q":
            return json.dumps(go_str(value))
        if kind in "dx" and isinstance(value, int | float) and not isinstance(value, bool):
            return ("%" + flags + kind) % int(value)
        if kind in "fg" and isinstance(value, int | float) and not isinstance(value, bool):
            return ("%" + flags + kind) % value
        return ("%" + flags + "s") % go_str(value)

    return _VERB.sub(verb, fmt)


def _index(container: Any, *keys: Any) -> Any:
    for key in keys:
        if isinstance(container, Mapping):
            container = container.get(key, NO_VALUE)
        elif isinstance(container, list | tuple):
            try:
                container = container[int(key)]
            except (IndexError, ValueError, TypeError):
                raise TemplateError(f"index out of range: {key}") from None
        else:
            raise TemplateError(f"can't index item of type {type(container).__name__}")
    return container


def _print_index(container: Any, i: Any) -> str:
    try:
        return _print(container[int(i)])
    except (IndexError, ValueError, TypeError, KeyError):
        return ""


def _empty(value: Any) -> bool:
    return value is None or isinstance(value, NoValue) or value in ("", 0, False) or (
        isinstance(value, Mapping | list | tuple) and not value)


def _to_json(value: Any) -> str:
    return json.dumps(None if isinstance(value, NoValue) else value, separators=(",", ":"), default=str)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "print": _print,
    "printf": _printf,
    "println": lambda *a: _print(*a) + "\n",
    "printIndex": _print_index,
    "index": _index,
    "len": lambda v: len(v or ()),
    "lower": lambda s: go_str(s).lower(),
    "upper": lambda s: go_str(s).upper(),
    "trim": lambda s: go_str(s).strip(),
    "title": lambda s: go_str(s).title(),
    "quote": lambda *a: " ".join(json.dumps(_print(v)) for v in a),
    "squote": lambda *a: " ".join(f"'{_print(v)}'" for v in a),
    "default": lambda d, v=None: d if _empty(v) else v,
    "empty": _empty,
    "coalesce": lambda *a: next((v for v in a if not _empty(v)), None),
    "toJson": _to_json,
    "toJSON": _to_json,
    "toRawJson": _to_json,
    "toString": lambda v: _print(v),
    "join": lambda sep, items: sep.join(_print(i) for i in (items or ())),
    "split": lambda sep, s: {f"_{i}": p for i, p in enumerate(go_str(s).split(sep))},
    "splitList": lambda sep, s: go_str(s).split(sep),
    "replace": lambda old, new, s: go_str(s).replace(old, new),
    "contains": lambda sub, s: sub in go_str(s),
    "hasPrefix": lambda p, s: go_str(s).startswith(p),
    "hasSuffix": lambda p, s: go_str(s).endswith(p),
    "trimPrefix": lambda p, s: go_str(s).removeprefix(p),
    "trimSuffix": lambda p, s: go_str(s).removesuffix(p),
    "urlquery": lambda *a: quote_plus(_print(*a)),
    "b64enc": lambda s: base64.b64encode(go_str(s).encode()).decode(),
    "b64dec": lambda s: base64.b64decode(go_str(s)).decode("utf-8", "replace"),
    "int": lambda v: int(float(v)) if v not in (None, "") and not isinstance(v, NoValue) else 0,
    "add": lambda *a: sum(int(x) for x in a),
    "sub": lambda a, b: int(a) - int(b),
    "eq": lambda a, *b: any(a == x for x in b),
    "ne": lambda a, b: a != b,
    "not": lambda v: _empty(v),
    "and": lambda *a: next((v for v in a if _empty(v)), a[-1]),
    "or": lambda *a: next((v for v in a if not _empty(v)), a[-1]),
    "list": lambda *a: list(a),
}


class HeaderMap:
    """Go's http.Header as templates see it: `.Get "x-foo"` is case-insensitive."""

    __slots__ = ("_get",)

    def __init__(self, get: Callable[[str], str]) -> None:
        self._get = get

    def Get(self, name: str) -> str:  # noqa: N802 - Go's method name
        return self._get(name)


class QueryMap:
    __slots__ = ("_raw", "_parsed")

    def __init__(self, raw: str) -> None:
        self._raw, self._parsed = raw, None

    def Get(self, name: str) -> str:  # noqa: N802
        if self._parsed is None:
            self._parsed = parse_qs(self._raw, keep_blank_values=True)
        values = self._parsed.get(name)
        return values[0] if values else ""


class URLView:
    """The `.MatchContext.URL` fields templates use."""

    __slots__ = ("Scheme", "Host", "Path", "RawQuery")

    def __init__(self, scheme: str, host: str, path: str, raw_query: str) -> None:
        self.Scheme, self.Host, self.Path, self.RawQuery = scheme, host, path, raw_query

    @property
    def Query(self) -> QueryMap:  # noqa: N802
        return QueryMap(self.RawQuery)

    def String(self) -> str:  # noqa: N802
        url = f"{self.Scheme}://{self.Host}{self.Path}"
        return f"{url}?{self.RawQuery}" if self.RawQuery else url


ROOT_FIELDS = frozenset({"Subject", "Extra", "Header", "MatchContext"})
_TOKEN = re.compile(r"""\s*(?:(?P<str>"(?:[^"\\]|\\.)*"|`[^`]*`)|(?P<num>-?\d+(?:\.\d+)?)"""
                    r"""|(?P<field>(?:\.[A-Za-z_]\w*)+|\.)|(?P<var>\$(?:\.[A-Za-z_]\w*)*)|(?P<ident>[A-Za-z_]\w*)|(?P<punct>[|()]))""")
_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.DOTALL)


def _attr(value: Any, name: str) -> Any:
    if type(value) is dict or isinstance(value, Mapping):
        return value.get(name, NO_VALUE)
    if value is None or isinstance(value, NoValue):
        return NO_VALUE
    if name.startswith("_") or not hasattr(value, name):
        raise TemplateError(f"can't evaluate field {name} in type {type(value).__name__}")
    return getattr(value, name)


def _field_eval(path: list[str], from_root: bool) -> Eval:
    def run(dot: Any, root: Any = None) -> Any:
        value = root if from_root else dot
        for name in path:
            value = _attr(value, name)
        return value

    return run


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
        args = [fn for _, fn in operands[1:]]
        if head_kind == "func":
            func = FUNCTIONS[head]

            def call(dot: Any, root: Any, piped: tuple[Any, ...] | None) -> Any:
                values = [a(dot, root) for a in args] + list(piped or ())
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
                return result(*[a(dot, root) for a in args], *(piped or ()))
            if args or piped:
                raise TemplateError("can't give an argument to a non-function")
            return result

        return value

    def operand(self) -> tuple[str, Any]:
        kind, text = self.tokens[self.i]
        self.i += 1
        if kind == "str":
            s = json.loads(text) if text.startswith('"') else text[1:-1]
            return "value", lambda d, r: s
        if kind == "num":
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
            inner = self.pipeline()
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

    def __init__(self, source: str) -> None:
        self.source = source
        self._nodes = _compile(source)
        simple = _SIMPLE.match(source.strip()) if source.strip() == source else None
        if simple:
            path = tuple(p for p in simple.group(2).split(".") if p)
            fmt = _print if simple.group(1) else go_str
            self.render = lambda data: fmt(_walk(data, path))  # type: ignore[method-assign]
        else:
            self.render = self._render  # type: ignore[method-assign]

    def _render(self, data: Any) -> str:
        out: list[str] = []
        for node in self._nodes:
            node(data, out)
        return "".join(out)


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
            stack[-1][0].append(lambda d, o, t=text: o.append(t))
        pos = m.end()
        body = m.group(2).strip()
        if body.startswith("/*"):
            if not body.endswith("*/"):
                raise TemplateError("unclosed comment")
            continue
        word = body.split(None, 1)[0] if body else ""
        if word == "if":
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
            stack[-1][0].append(lambda d, o, a=action: o.append(go_str(a(d, d))))
    if len(stack) != 1:
        raise TemplateError("{{ if }} without {{ end }}")
    tail = source[pos:]
    if pending_trim:
        tail = tail.lstrip()
    if "{{" in tail:
        raise TemplateError("unclosed action '{{'")
    if tail:
        stack[0][0].append(lambda d, o, t=tail: o.append(t))
    return stack[0][0]


def _if_node(cond: Callable[[Any, Any], Any], then: list[Node], other: list[Node]) -> Node:
    def run(data: Any, out: list[str]) -> None:
        for node in (other if _empty(cond(data, data)) else then):
            node(data, out)

    return run


def compile_template(source: str) -> Template:
    return Template(source)
