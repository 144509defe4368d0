"""What Oathkeeper's rule templates add to Go's: its `print`/`printIndex` overrides and the header, query
and URL views templates read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from gatekeeper.gotemplate import FUNCTIONS, Functions, go_str, is_missing


def go_print(*args: Any) -> str:
    """Oathkeeper's `print`: Go's, except that one missing value prints as ""."""
    if len(args) == 1:
        return "" if is_missing(args[0]) else go_str(args[0])
    out = ""
    for i, arg in enumerate(args):  # fmt.Sprint: a space between operands when neither is a string
        if i and not isinstance(arg, str) and not isinstance(args[i - 1], str):
            out += " "
        out += "" if arg is None else go_str(arg)
    return out


def _print_index(container: Any, i: Any) -> str:
    try:
        return go_print(container[int(i)])
    except (IndexError, ValueError, TypeError, KeyError):
        return ""


RULE_FUNCTIONS: Functions = {**FUNCTIONS, "print": go_print, "printIndex": _print_index}


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
