"""Tokens of the Ory Permission Language (the TypeScript subset Keto reads), with their source positions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    IDENT = "identifier"
    STRING = "string"
    PUNCT = "operator"
    EOF = "end of file"


@dataclass(frozen=True, slots=True)
class Position:
    """1-based line, 0-based column (Keto's `SourcePosition`)."""

    line: int
    column: int

    def as_json(self) -> dict[str, int]:
        return {"Line": self.line, "column": self.column}


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    value: str
    start: Position
    end: Position


class OplSyntaxError(Exception):
    """One problem in an OPL document, with where it starts and ends."""

    def __init__(self, message: str, start: Position, end: Position) -> None:
        super().__init__(message)
        self.message, self.start, self.end = message, start, end

    def as_json(self) -> dict[str, object]:
        return {"message": self.message, "start": self.start.as_json(), "end": self.end.as_json()}


_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<ident>[A-Za-z_$][A-Za-z0-9_$]*)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<punct>=>|\|\||&&|[{}()\[\]<>:;,.|!=?])
""", re.VERBOSE | re.DOTALL)


def tokenize(text: str) -> list[Token]:
    """Every token of `text`, ending with an EOF token; raises OplSyntaxError on a character OPL does not use."""
    tokens: list[Token] = []
    line, line_start, pos = 1, 0, 0

    def at(offset: int) -> Position:
        return Position(line, offset - line_start)

    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise OplSyntaxError(f"unexpected character {text[pos]!r}", at(pos), at(pos + 1))
        kind, value = match.lastgroup, match.group()
        if kind == "ident":
            tokens.append(Token(Kind.IDENT, value, at(pos), at(match.end())))
        elif kind == "string":
            tokens.append(Token(Kind.STRING, value[1:-1], at(pos), at(match.end())))
        elif kind == "punct":
            tokens.append(Token(Kind.PUNCT, value, at(pos), at(match.end())))
        newlines = value.count("\n")
        if newlines:
            line += newlines
            line_start = pos + value.rindex("\n") + 1
        pos = match.end()
    tokens.append(Token(Kind.EOF, "", at(pos), at(pos)))
    return tokens
