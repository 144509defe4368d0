"""Go's view of template values: the error, the missing value, truth and `%v` formatting."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class TemplateError(ValueError):
    """A template that does not parse, or an execution that failed; `line` is 1-based when known."""

    def __init__(self, message: str, line: int | None = None, name: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.name = name

    def __str__(self) -> str:
        if self.name:
            return f"{self.name}:{self.line}: {self.message}" if self.line else f"{self.name}: {self.message}"
        return f"line {self.line}: {self.message}" if self.line else self.message


class NoValue:
    """Go's zero value for a missing map key: prints `<no value>`, is false, is nil to functions."""

    __slots__ = ()

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "<no value>"


NO_VALUE = NoValue()


def is_missing(value: Any) -> bool:
    return value is None or isinstance(value, NoValue)


def truth(value: Any) -> bool:
    """Go's template truth: false for nil, a missing value, false, 0, "" and an empty collection."""
    if is_missing(value):
        return False
    if isinstance(value, bool | int | float | str | Mapping | list | tuple):
        return bool(value)
    return True


def go_str(value: Any) -> str:
    """Format like Go's `%v` on decoded JSON values (a missing value or nil: `<no value>`)."""
    if type(value) is str:
        return value
    if is_missing(value):
        return "<no value>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        inner = " ".join(f"{k}:{go_str(value[k])}" for k in sorted(value, key=str))
        return f"map[{inner}]"
    if isinstance(value, list | tuple):
        return "[" + " ".join(go_str(v) for v in value) + "]"
    if isinstance(value, int):
        return str(value)
    if callable(string := getattr(value, "String", None)):  # Go's fmt.Stringer
        return str(string())
    raise TemplateError(f"can't print a value of type {type(value).__name__}")


def sprint(*args: Any) -> str:
    """Go's `fmt.Sprint`: a space between operands when neither is a string; nil is `<nil>`."""
    out = []
    for i, arg in enumerate(args):
        if i and not isinstance(arg, str) and not isinstance(args[i - 1], str):
            out.append(" ")
        out.append("<nil>" if is_missing(arg) else go_str(arg))
    return "".join(out)
