"""Oathkeeper's URL patterns (`<` `>` delimited regexp or glob blocks) compiled once per rule set.

Outside the delimiters everything is literal; each regexp block becomes a capture group (as
Oathkeeper), glob blocks use gobwas/glob semantics with `.` and `/` as separators. Patterns are
anchored at both ends. `Matcher.find` is one pass over the rules for the request's method.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Strategy = Literal["glob", "regexp"]


class PatternError(ValueError):
    """A `match.url` that cannot be compiled."""


def split_blocks(pattern: str) -> list[tuple[bool, str]]:
    """Split into (is_block, text) parts; delimiters nest by counting as in ory/ladon."""
    parts: list[tuple[bool, str]] = []
    depth, start = 0, 0
    for i, ch in enumerate(pattern):
        if ch == "<":
            if depth == 0:
                if i > start:
                    parts.append((False, pattern[start:i]))
                start = i + 1
            depth += 1
        elif ch == ">" and depth > 0:
            depth -= 1
            if depth == 0:
                parts.append((True, pattern[start:i]))
                start = i + 1
    if depth != 0:
        raise PatternError(f"unbalanced '<' in {pattern!r}")
    if start < len(pattern):
        parts.append((False, pattern[start:]))
    return parts


def glob_to_regex(glob: str) -> str:
    """gobwas/glob with separators `.` and `/`: `*`, `**`, `?`, `[...]`, `[!...]`, `{a,b}`."""
    out: list[str] = []
    i, n, depth = 0, len(glob), 0
    while i < n:
        ch = glob[i]
        if ch == "*":
            if i + 1 < n and glob[i + 1] == "*":
                out.append(".*")
                i += 2
                continue
            out.append("[^./]*")
        elif ch == "?":
            out.append("[^./]")
        elif ch == "[":
            end = glob.find("]", i + 1)
            if end < 0:
                raise PatternError(f"unclosed '[' in glob {glob!r}")
            body = glob[i + 1:end]
            negate = body.startswith("!")
            body = body[1:] if negate else body
            out.append(("[^" if negate else "[") + body.replace("\\", "\\\\") + "]")
            i = end
        elif ch == "{":
            depth += 1
            out.append("(?:")
        elif ch == "}" and depth:
            depth -= 1
            out.append(")")
        elif ch == "," and depth:
            out.append("|")
        elif ch == "\\" and i + 1 < n:
            out.append(re.escape(glob[i + 1]))
            i += 1
        else:
            out.append(re.escape(ch))
        i += 1
    if depth:
        raise PatternError(f"unclosed '{{' in glob {glob!r}")
    return "".join(out)


def compile_pattern(pattern: str, strategy: Strategy) -> re.Pattern[str]:
    parts = split_blocks(pattern)
    regex: list[str] = []
    for is_block, text in parts:
        if not is_block:
            regex.append(re.escape(text))
        elif strategy == "regexp":
            regex.append(f"({text})")
        else:
            regex.append(glob_to_regex(text))
    try:
        return re.compile("^" + "".join(regex) + "$")
    except (re.error, OverflowError, RecursionError) as exc:  # a{99999999999}: OverflowError
        raise PatternError(f"invalid regular expression in {pattern!r}: {exc}") from None


@dataclass(frozen=True, slots=True)
class Pattern:
    """A compiled `match.url` (+ optional `match.headers`) with its methods."""

    url: str
    regex: re.Pattern[str]
    methods: frozenset[str]
    headers: tuple[tuple[str, re.Pattern[str]], ...] = ()

    def match(self, url: str, header_get: object = None) -> re.Match[str] | None:
        m = self.regex.match(url)
        if m is None or not self.headers:
            return m
        for name, regex in self.headers:
            if header_get is None or regex.match(header_get(name)) is None:  # type: ignore[operator]
                return None
        return m

    @property
    def literal(self) -> bool:
        return "<" not in self.url


def compile_match(url: str, methods: Sequence[str], strategy: Strategy,
                  headers: dict[str, str] | None = None) -> Pattern:
    compiled_headers = tuple((k.lower(), compile_pattern(v, strategy)) for k, v in (headers or {}).items())
    return Pattern(url, compile_pattern(url, strategy), frozenset(m.upper() for m in methods), compiled_headers)


def captures(m: re.Match[str]) -> tuple[str, ...]:
    return tuple(g or "" for g in m.groups())


_SAMPLES = ("", "x", "1", "x/x", "a.b", "abc", "x/y/z")


def witnesses(p: Pattern) -> list[str]:
    """URLs the pattern provably matches (used to prove overlaps at load time)."""
    if p.literal:
        return [p.url]
    parts = split_blocks(p.url)
    out = []
    for sample in _SAMPLES:
        candidate = "".join(sample if is_block else text for is_block, text in parts)
        if p.regex.match(candidate):
            out.append(candidate)
    return out


def overlap(a: Pattern, b: Pattern) -> str | None:
    """An example URL matched by both patterns for a shared method, or None when none was found."""
    if not (a.methods & b.methods):
        return None
    if a.headers or b.headers:
        if a.url == b.url and [h[0] for h in a.headers] == [h[0] for h in b.headers] and \
                [h[1].pattern for h in a.headers] == [h[1].pattern for h in b.headers]:
            return a.url
        return None
    if a.regex.pattern == b.regex.pattern:
        return a.url
    for url in witnesses(a):
        if b.regex.match(url):
            return url
    for url in witnesses(b):
        if a.regex.match(url):
            return url
    return None
