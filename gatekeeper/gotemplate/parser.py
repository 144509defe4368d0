"""Parses a Go template into nodes (nodes.py), checking functions and variables as Go does at parse time.

Supported: text, actions with pipelines and `|`, fields and field chains, variables (`$x := `, `$x = `,
`$`), literals (strings, raw strings, characters, numbers, booleans, nil), parentheses, comments, trim
markers, `if`/`else if`/`else`, `with`/`else with`, `range` (with `$i, $e :=`, `else`, `break`,
`continue`), `define`, `template` and `block`.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from gatekeeper.gotemplate.lexer import Token, tokenize
from gatekeeper.gotemplate.nodes import Branch, Command, Include, Jump, Node, Operand, Output, Pipeline, Range, Text
from gatekeeper.gotemplate.values import TemplateError

MAX_NESTING = 50
_KEYWORDS = frozenset({"if", "else", "end", "range", "with", "define", "template", "block", "break", "continue"})


class Parsed:
    """A parsed source: its top-level nodes, the templates it defines, the fields it reads from the root."""

    def __init__(self, nodes: list[Node], defines: dict[str, list[Node]], root_fields: frozenset[str]) -> None:
        self.nodes = nodes
        self.defines = defines
        self.root_fields = root_fields


def parse(source: str, funcs: Mapping[str, Callable[..., Any]]) -> Parsed:
    """Parse `source`; a `TemplateError` carries the line of what is wrong."""
    parser = _Parser(tokenize(source), funcs, source.count("\n") + 1)
    nodes, _ = parser.list_until(set())
    return Parsed(nodes, parser.defines, frozenset(parser.root_fields))


class _Parser:
    def __init__(self, tokens: list[Token], funcs: Mapping[str, Callable[..., Any]], lines: int) -> None:
        self.tokens = tokens
        self.lines = lines
        self.i = 0
        self.funcs = funcs
        self.defines: dict[str, list[Node]] = {}
        self.root_fields: set[str] = set()
        self.scopes: list[list[str]] = [["$"]]  # variables visible, per open block
        self.dot_is_root = [True]
        self.loops = 0

    # -- token helpers ---------------------------------------------------------------------------------------

    def peek(self) -> Token:
        if self.i >= len(self.tokens):
            return Token("eof", "", self.lines)
        return self.tokens[self.i]

    def next(self) -> Token:
        token = self.peek()
        if token.kind == "eof":
            raise TemplateError("unexpected end of template", token.line)
        self.i += 1
        return token

    def expect_close(self, context: str) -> None:
        token = self.next()
        if token.kind != "close":
            raise TemplateError(f"unexpected {token.value!r} in {context}", token.line)

    # -- lists and control structures -----------------------------------------------------------------------

    def list_until(self, stops: set[str]) -> tuple[list[Node], Token | None]:
        """Nodes up to one of the keywords in `stops` (whose token is returned, the action still open)."""
        nodes: list[Node] = []
        while True:
            token = self.peek()
            if token.kind == "eof":
                if stops:
                    raise TemplateError("unexpected EOF: missing {{ end }}", token.line)
                return nodes, None
            self.i += 1
            if token.kind == "text":
                nodes.append(Text(token.value, token.line))
                continue
            word = self.peek()
            if word.kind == "ident" and word.value in _KEYWORDS:
                if word.value in stops:
                    self.i += 1
                    return nodes, word
                self.i += 1
                nodes.extend(self.keyword(word))
            else:
                pipe = self.pipeline("command", declare=True)
                self.expect_close("command")
                nodes.append(Output(pipe, token.line))

    def keyword(self, word: Token) -> list[Node]:
        if word.value in ("end", "else"):
            raise TemplateError(f"unexpected {{{{ {word.value} }}}}", word.line)
        if word.value in ("break", "continue"):
            if not self.loops:
                raise TemplateError(f"{{{{ {word.value} }}}} outside {{{{ range }}}}", word.line)
            self.expect_close(word.value)
            return [Jump(word.value, word.line)]
        if word.value in ("template", "block"):
            return self.template(word)
        if word.value == "define":
            name = self.name_literal(word)
            self.expect_close("define")
            self.defines[name] = self.body(word)
            return []
        return [self.control(word)]

    def control(self, word: Token) -> Node:
        if len(self.scopes) > MAX_NESTING:
            raise TemplateError(f"more than {MAX_NESTING} nested blocks", word.line)
        self.scopes.append([])
        try:
            pipe = self.pipeline(word.value, declare=True, range_vars=word.value == "range")
            self.expect_close(word.value)
            moves_dot = word.value in ("range", "with")
            self.dot_is_root.append(self.dot_is_root[-1] and not moves_dot)
            self.loops += word.value == "range"
            try:
                then, stop = self.list_until({"else", "end"})
            finally:
                self.loops -= word.value == "range"
                self.dot_is_root.pop()
            otherwise: list[Node] = []
            if stop is not None and stop.value == "else":
                follow = self.peek()
                if follow.kind == "ident" and follow.value in ("if", "with") and word.value != "range":
                    self.i += 1  # `else if`/`else with`: a nested branch sharing this one's {{ end }}
                    otherwise = [self.control(follow)]
                else:
                    self.expect_close("else")
                    otherwise, _ = self.list_until({"end"})
                    self.expect_close("end")
            else:
                self.expect_close("end")
        finally:
            self.scopes.pop()
        kind = Range if word.value == "range" else Branch
        return kind(word.value, pipe, then, otherwise, word.line)

    def body(self, word: Token) -> list[Node]:
        """A `define`/`block` body: its own variables; its dot is whatever a caller passes."""
        saved_scopes, saved_root, saved_loops = self.scopes, self.dot_is_root, self.loops
        self.scopes, self.dot_is_root, self.loops = [["$"]], [False], 0
        try:
            nodes, _ = self.list_until({"end"})
            self.expect_close(f"{word.value} clause")
        finally:
            self.scopes, self.dot_is_root, self.loops = saved_scopes, saved_root, saved_loops
        return nodes

    def template(self, word: Token) -> list[Node]:
        name = self.name_literal(word)
        pipe = None if self.peek().kind == "close" else self.pipeline(word.value)
        self.expect_close(word.value)
        if word.value == "block":
            self.defines[name] = self.body(word)
        return [Include(name, pipe, word.line)]

    def name_literal(self, word: Token) -> str:
        token = self.next()
        if token.kind not in ("str", "raw"):
            raise TemplateError(f"{word.value} needs a quoted template name", token.line)
        return str(_literal(token))

    # -- pipelines ----------------------------------------------------------------------------------------

    def pipeline(self, context: str, *, declare: bool = False, range_vars: bool = False) -> Pipeline:
        decls, assign = self.declarations(range_vars) if declare else ((), False)
        commands = [self.command(context)]
        while self.peek().kind == "punct" and self.peek().value == "|":
            self.i += 1
            commands.append(self.command(context))
        for name in decls:
            if not assign:
                self.scopes[-1].append(name)
        return Pipeline(tuple(commands), decls, assign)

    def declarations(self, range_vars: bool) -> tuple[tuple[str, ...], bool]:
        """`$x :=`, `$x =` or (range) `$i, $e :=` at the start of a pipeline; nothing when there is none."""
        start = self.i
        names: list[str] = []
        while self.peek().kind == "var":
            names.append(self.next().value)
            token = self.peek()
            if token.kind == "decl" or (token.kind == "punct" and token.value == "="):
                self.i += 1
                assign = token.kind == "punct"
                if len(names) > (2 if range_vars and not assign else 1):
                    raise TemplateError("too many declarations", token.line)
                if assign:
                    self.known(names[0], token.line)
                return tuple(names), assign
            if range_vars and token.kind == "punct" and token.value == "," and len(names) == 1:
                self.i += 1
                continue
            break
        self.i = start
        return (), False

    def command(self, context: str) -> Command:
        operands: list[Operand] = []
        while True:
            token = self.peek()
            if token.kind in ("close", "eof") or (token.kind == "punct" and token.value in "|)"):
                break
            if operands and not token.spaced and token.kind != "field":
                raise TemplateError(f"missing space before {token.value!r}", token.line)
            operands.append(self.operand())
        if not operands:
            raise TemplateError(f"missing value for {context}", self.peek().line)
        return Command(tuple(operands))

    def operand(self) -> Operand:
        token = self.next()
        kind, value = token.kind, token.value
        if kind == "field":
            path = tuple(p for p in value.split(".") if p)
            if self.dot_is_root[-1]:
                self.root_fields.add(path[0])
            return Operand("field", None, path + self.chain())
        if kind == "punct" and value == ".":
            return Operand("dot", None, self.chain())
        if kind == "var":
            self.known(value, token.line)
            path = self.chain()
            if value == "$" and path:
                self.root_fields.add(path[0])
            return Operand("var", value, path)
        if kind == "punct" and value == "(":
            if len(self.scopes) > MAX_NESTING * 2:
                raise TemplateError("too deeply nested parentheses", token.line)
            self.scopes.append([])
            try:
                inner = self.pipeline("parenthesized pipeline")
            finally:
                self.scopes.pop()
            close = self.next()
            if close.kind != "punct" or close.value != ")":
                raise TemplateError(f"unclosed left paren, found {close.value!r}", close.line)
            return Operand("pipe", inner, self.chain())
        if kind == "ident":
            if value in ("true", "false"):
                return Operand("literal", value == "true", self.chain())
            if value == "nil":
                return Operand("literal", None)
            if value not in self.funcs:
                raise TemplateError(f'function "{value}" not defined', token.line)
            return Operand("func", value, ())
        if kind in ("str", "raw", "char", "num"):
            return Operand("literal", _literal(token), ())
        raise TemplateError(f"unexpected {value!r} in operand", token.line)

    def chain(self) -> tuple[str, ...]:
        """Fields written right after a term with no space: `$x.A.B`, `(pipeline).A`."""
        token = self.peek()
        if token.kind == "field" and not token.spaced:
            self.i += 1
            return tuple(p for p in token.value.split(".") if p)
        return ()

    def known(self, name: str, line: int) -> None:
        if not any(name in scope for scope in self.scopes):
            raise TemplateError(f"undefined variable {name!r}", line)


def _literal(token: Token) -> Any:
    text = token.value
    try:
        if token.kind in ("str", "char"):
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # an escape Python only warns about is one Go refuses
                unquoted = ast.literal_eval(text)
        if token.kind == "raw":
            return text[1:-1]
        if token.kind == "str":
            return unquoted
        if token.kind == "char":
            if len(unquoted) != 1:
                raise ValueError
            return ord(unquoted)
        digits = text.replace("_", "")
        if len(digits) > 40:
            raise ValueError
        if digits.lstrip("+-")[:2].lower() in ("0x", "0o", "0b"):
            return int(digits, 0)
        return float(digits) if any(c in digits for c in ".eE") and "x" not in digits.lower() else int(digits)
    except (ValueError, SyntaxError, Warning):
        raise TemplateError(f"bad literal {text[:40]}", token.line) from None
