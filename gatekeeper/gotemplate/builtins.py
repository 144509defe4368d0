"""Go's predefined template functions (text/template's `builtins`), on decoded JSON values."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote_plus

from gatekeeper.gotemplate.values import NO_VALUE, TemplateError, go_str, is_missing, sprint, truth

_VERB = re.compile(r"%([-+# 0]*)(\d{0,3})(?:\.(\d{1,3}))?([svdqtfgxXeEbco%T])")


def sprintf(fmt: str, *args: Any) -> str:
    """Go's `fmt.Sprintf` for the verbs templates use (`%s %v %d %q %t %f %g %x`...)."""
    values = iter(args)

    def verb(m: re.Match[str]) -> str:
        flags, width, precision, kind = m.groups()
        if kind == "%":
            return "%"
        try:
            value = next(values)
        except StopIteration:
            return f"%!{kind}(MISSING)"
        spec = flags.replace("#", "") + width + (f".{precision}" if precision is not None else "")
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if kind == "q":
            return json.dumps(go_str(value), ensure_ascii=False)
        if kind in "dxXobc" and number:
            n = int(value)
            return chr(n) if kind == "c" else format(n, spec + ("d" if kind == "d" else kind))
        if kind in "fgeE" and number:
            if kind == "g" and precision is None:
                return format(go_str(float(value)), width)
            return format(float(value), spec + (".6" if kind == "f" and precision is None else "") + kind)
        if kind == "T":
            return type(value).__name__
        text = "<nil>" if is_missing(value) else go_str(value)
        return format(text, spec.replace("0", "") if spec else "")

    return _VERB.sub(verb, fmt)


def index(container: Any, *keys: Any) -> Any:
    """Go's `index`: map keys (missing: no value) and list positions (out of range: an error)."""
    for key in keys:
        if isinstance(container, Mapping):
            container = container.get(key, NO_VALUE)
        elif isinstance(container, list | tuple | str):
            if isinstance(key, bool) or not isinstance(key, int | float) or not 0 <= int(key) < len(container):
                raise TemplateError(f"error calling index: index out of range: {go_str(key)}")
            container = container[int(key)]
        elif is_missing(container):
            raise TemplateError("error calling index: index of untyped nil")
        else:
            raise TemplateError(f"error calling index: can't index item of type {type(container).__name__}")
    return container


def slice_(item: Any, *bounds: Any) -> Any:
    if not isinstance(item, list | tuple | str) or len(bounds) > 3:
        raise TemplateError(f"can't slice item of type {type(item).__name__}")
    ints = [int(b) for b in bounds]
    if any(not 0 <= b <= len(item) for b in ints) or ints != sorted(ints):
        raise TemplateError(f"index out of range: {bounds}")
    return item[slice(*ints[:2])]


def length(item: Any) -> int:
    if isinstance(item, Mapping | list | tuple | str):
        return len(item)
    raise TemplateError(f"len of type {type(item).__name__}" if not is_missing(item) else "len of nil pointer")


def _compare(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(a: Any, b: Any) -> bool:
        if isinstance(a, bool) or isinstance(b, bool) or not (
                isinstance(a, int | float) and isinstance(b, int | float) or isinstance(a, str) and isinstance(b, str)):
            raise TemplateError("incompatible types for comparison")
        return op(a, b)

    return compare


def eq(a: Any, *others: Any) -> bool:
    if not others:
        raise TemplateError("missing argument for comparison")
    return any(a == b for b in others)


def _js(*args: Any) -> str:
    text = sprint(*args)
    return json.dumps(text)[1:-1].replace("<", "\\u003C").replace(">", "\\u003E").replace(
        "&", "\\u0026").replace("'", "\\'").replace("=", "\\u003D")


def _call(fn: Any, *args: Any) -> Any:
    if not callable(fn):
        raise TemplateError(f"non-function of type {type(fn).__name__}")
    return fn(*args)


BUILTINS: dict[str, Callable[..., Any]] = {
    "and": lambda *a: a[-1],  # evaluated lazily by the command (nodes.Command); here to be known
    "or": lambda *a: a[-1],
    "not": lambda v: not truth(v),
    "eq": eq,
    "ne": lambda a, b: not eq(a, b),
    "lt": _compare(lambda a, b: a < b),
    "le": _compare(lambda a, b: a <= b),
    "gt": _compare(lambda a, b: a > b),
    "ge": _compare(lambda a, b: a >= b),
    "len": length,
    "index": index,
    "slice": slice_,
    "print": sprint,
    "printf": sprintf,
    "println": lambda *a: " ".join("<nil>" if is_missing(v) else go_str(v) for v in a) + "\n",
    "html": lambda *a: html.escape(sprint(*a)).replace("&quot;", "&#34;").replace("&#x27;", "&#39;"),
    "js": _js,
    "urlquery": lambda *a: quote_plus(sprint(*a)),
    "call": _call,
}
