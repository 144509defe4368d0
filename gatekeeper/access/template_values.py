"""Values and functions of the Go-template subset: Go's `%v` formatting, Oathkeeper's `print`/`printIndex`,
the sprig functions rule files use, and the header/query/URL views templates read."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, quote_plus


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
    if isinstance(value, int | float):
        return str(value)
    if callable(string := getattr(value, "String", None)):  # Go's fmt.Stringer (`.MatchContext.URL`)
        return str(string())
    raise TemplateError(f"can't print a value of type {type(value).__name__}")


def go_print(*args: Any) -> str:
    """Go's `print`: values as Go formats them, spaces only between operands that are not strings."""
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
        return go_print(container[int(i)])
    except (IndexError, ValueError, TypeError, KeyError):
        return ""


def is_empty(value: Any) -> bool:
    """Sprig's `empty`: nil, a missing value, "", 0, false or an empty collection."""
    return value is None or isinstance(value, NoValue) or value in ("", 0, False) or (
        isinstance(value, Mapping | list | tuple) and not value)


def _to_json(value: Any) -> str:
    return json.dumps(None if isinstance(value, NoValue) else value, separators=(",", ":"), default=go_str)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "print": go_print,
    "printf": _printf,
    "println": lambda *a: go_print(*a) + "\n",
    "printIndex": _print_index,
    "index": _index,
    "len": lambda v: len(v or ()),
    "lower": lambda s: go_str(s).lower(),
    "upper": lambda s: go_str(s).upper(),
    "trim": lambda s: go_str(s).strip(),
    "title": lambda s: go_str(s).title(),
    "quote": lambda *a: " ".join(json.dumps(go_print(v)) for v in a),
    "squote": lambda *a: " ".join(f"'{go_print(v)}'" for v in a),
    "default": lambda d, v=None: d if is_empty(v) else v,
    "empty": is_empty,
    "coalesce": lambda *a: next((v for v in a if not is_empty(v)), None),
    "toJson": _to_json,
    "toJSON": _to_json,
    "toRawJson": _to_json,
    "toString": lambda v: go_print(v),
    "join": lambda sep, items: sep.join(go_print(i) for i in (items or ())),
    "split": lambda sep, s: {f"_{i}": p for i, p in enumerate(go_str(s).split(sep))},
    "splitList": lambda sep, s: go_str(s).split(sep),
    "replace": lambda old, new, s: go_str(s).replace(old, new),
    "contains": lambda sub, s: sub in go_str(s),
    "hasPrefix": lambda p, s: go_str(s).startswith(p),
    "hasSuffix": lambda p, s: go_str(s).endswith(p),
    "trimPrefix": lambda p, s: go_str(s).removeprefix(p),
    "trimSuffix": lambda p, s: go_str(s).removesuffix(p),
    "urlquery": lambda *a: quote_plus(go_print(*a)),
    "b64enc": lambda s: base64.b64encode(go_str(s).encode()).decode(),
    "b64dec": lambda s: base64.b64decode(go_str(s)).decode("utf-8", "replace"),
    "int": lambda v: int(float(v)) if v not in (None, "") and not isinstance(v, NoValue) else 0,
    "add": lambda *a: sum(int(x) for x in a),
    "sub": lambda a, b: int(a) - int(b),
    "eq": lambda a, *b: any(a == x for x in b),
    "ne": lambda a, b: a != b,
    "not": lambda v: is_empty(v),
    "and": lambda *a: next((v for v in a if is_empty(v)), a[-1]),
    "or": lambda *a: next((v for v in a if not is_empty(v)), a[-1]),
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
        self._raw = raw
        self._parsed: dict[str, list[str]] | None = None

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
