"""The parsed tree of a Go template and how each node executes (Go's text/template exec rules)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gatekeeper.gotemplate.values import NO_VALUE, NoValue, TemplateError, go_str, is_missing, truth

MAX_DEPTH = 100  # nested {{ template }} calls, as a bound on recursion
_UNSET: Any = object()  # no value piped into a command
_ABSENT: Any = object()  # no such attribute


class State:
    """One execution: the function map, the template set, the output and the variables in scope."""

    __slots__ = ("funcs", "templates", "out", "vars", "depth")

    def __init__(self, funcs: Mapping[str, Callable[..., Any]], templates: Mapping[str, list[Node]],
                 data: Any) -> None:
        self.funcs = funcs
        self.templates = templates
        self.out: list[str] = []
        self.vars: list[list[Any]] = [["$", data]]
        self.depth = 0

    def variable(self, name: str) -> Any:
        for entry in reversed(self.vars):
            if entry[0] == name:
                return entry[1]
        raise TemplateError(f"undefined variable {name}")

    def assign(self, name: str, value: Any) -> None:
        for entry in reversed(self.vars):
            if entry[0] == name:
                entry[1] = value
                return
        raise TemplateError(f"undefined variable {name}")

    def run(self, nodes: list[Node], dot: Any) -> None:
        mark = len(self.vars)
        try:
            for node in nodes:
                node.run(self, dot)
        finally:
            del self.vars[mark:]


class Node:
    line: int = 0

    def run(self, state: State, dot: Any) -> None:
        raise NotImplementedError


class _Break(Exception):  # noqa: N818 - control flow, not an error
    pass


class _Continue(Exception):  # noqa: N818
    pass


def attr(value: Any, name: str) -> Any:
    """`.name` on `value`: a map key (missing: no value), or an exported attribute of an object."""
    if type(value) is dict or isinstance(value, Mapping):
        return value.get(name, NO_VALUE)
    if is_missing(value):
        return NO_VALUE
    found = getattr(value, name, _ABSENT) if name[:1].isupper() else _ABSENT  # Go's exported names only
    if found is _ABSENT:
        raise TemplateError(f"can't evaluate field {name} in type {type(value).__name__}")
    return found


def call(fn: Callable[..., Any], name: str, args: list[Any]) -> Any:
    """A function or method called as Go calls it: nil for missing values; any failure a TemplateError."""
    try:
        return fn(*[None if isinstance(a, NoValue) else a for a in args])
    except (TemplateError, _Break, _Continue):
        raise
    except RecursionError:
        raise TemplateError(f"error calling {name}: too deeply nested") from None
    except Exception as exc:  # noqa: BLE001 - a function's failure is the template's error
        raise TemplateError(f"error calling {name}: {exc}") from None


def resolve(value: Any, name: str = "method") -> Any:
    """A method value where a value is wanted: called without arguments, as Go does."""
    return call(value, name, []) if callable(value) else value


def walk(value: Any, path: tuple[str, ...]) -> Any:
    """`value.A.B...`: map keys, attributes, and methods met on the way called without arguments."""
    for name in path:
        value = value.get(name, NO_VALUE) if type(value) is dict else attr(resolve(value), name)
    return value


# -- operands -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Operand:
    """A term of a command: `kind` is dot | field | var | literal | func | pipe; `path` its field chain."""

    kind: str
    value: Any = None
    path: tuple[str, ...] = ()

    def receiver(self, state: State, dot: Any) -> Any:
        if self.kind == "field" or self.kind == "dot":
            return dot
        if self.kind == "var":
            return state.variable(self.value)
        if self.kind == "pipe":
            return self.value.eval(state, dot)
        if self.kind == "literal":
            return self.value
        return call(state.funcs[self.value], self.value, [])

    def arg(self, state: State, dot: Any) -> Any:
        """The operand's value as an argument (methods and functions named alone are called)."""
        if not self.path:
            return resolve(self.receiver(state, dot))
        return resolve(walk(self.receiver(state, dot), self.path), self.path[-1])

    def invoke(self, state: State, dot: Any, args: list[Any]) -> Any:
        """The operand at the head of a command, given `args` (evaluated arguments, the piped value last)."""
        if self.kind == "func" and not self.path:
            return call(state.funcs[self.value], self.value, args)
        value = walk(self.receiver(state, dot), self.path)
        if callable(value):
            return call(value, self.path[-1] if self.path else "method", args)
        if args:
            raise TemplateError(f"can't give argument to non-function {self.describe()}")
        return value

    def describe(self) -> str:
        head = {"dot": "", "field": "", "var": self.value, "func": self.value, "pipe": "(...)"}.get(
            self.kind, repr(self.value))
        return head + "".join(f".{p}" for p in self.path) or "."


@dataclass(frozen=True, slots=True)
class Command:
    operands: tuple[Operand, ...]
    logic: str = field(init=False, default="")  # "and" | "or": evaluated lazily, as Go does

    def __post_init__(self) -> None:
        head = self.operands[0]
        if head.kind == "func" and head.value in ("and", "or"):
            object.__setattr__(self, "logic", head.value)

    def eval(self, state: State, dot: Any, final: Any) -> Any:
        head, rest = self.operands[0], self.operands[1:]
        if self.logic:
            return self._logic(self.logic == "and", state, dot, rest, final)
        args = [a.arg(state, dot) for a in rest]
        if final is not _UNSET:
            args.append(final)
        return head.invoke(state, dot, args)

    @staticmethod
    def _logic(is_and: bool, state: State, dot: Any, rest: tuple[Operand, ...], final: Any) -> Any:
        """Go's `and`/`or`: evaluated left to right, stopping at the first false (and) or true (or) value."""
        if not rest and final is _UNSET:
            raise TemplateError(f"wrong number of args for {'and' if is_and else 'or'}: want at least 1 got 0")
        value: Any = None
        for operand in rest:
            value = operand.arg(state, dot)
            if truth(value) != is_and:
                return value
        return final if final is not _UNSET else value


@dataclass(frozen=True, slots=True)
class Pipeline:
    commands: tuple[Command, ...]
    decls: tuple[str, ...] = ()
    assign: bool = False  # `$x = ...` rather than `$x := ...`

    def eval(self, state: State, dot: Any) -> Any:
        value = _UNSET
        for command in self.commands:
            value = command.eval(state, dot, value)
        for name in self.decls:
            if self.assign:
                state.assign(name, value)
            else:
                state.vars.append([name, value])
        return value


# -- statements -----------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Text(Node):
    text: str
    line: int = 0

    def run(self, state: State, dot: Any) -> None:
        state.out.append(self.text)


@dataclass(slots=True)
class Output(Node):
    """`{{ pipeline }}`: prints the value (HTML templates set `escape` by the context it stands in)."""

    pipe: Pipeline
    line: int = 0
    escape: Callable[[Any], str] | None = None

    def run(self, state: State, dot: Any) -> None:
        try:
            value = self.pipe.eval(state, dot)
            if self.pipe.decls:
                return
            if self.escape is None:
                state.out.append(value if type(value) is str else go_str(value))
            else:
                state.out.append("" if is_missing(value) else self.escape(value))
        except TemplateError as exc:
            exc.line = exc.line or self.line
            raise


@dataclass(slots=True)
class Branch(Node):
    """`if`/`with` (and their `else if`/`else with`): `with` also sets dot to the value."""

    keyword: str
    pipe: Pipeline
    then: list[Node]
    otherwise: list[Node] = field(default_factory=list)
    line: int = 0

    def run(self, state: State, dot: Any) -> None:
        mark = len(state.vars)
        try:
            value = _at(self.line, self.pipe, state, dot)
            if truth(value):
                state.run(self.then, value if self.keyword == "with" else dot)
            else:
                state.run(self.otherwise, dot)
        finally:
            del state.vars[mark:]


@dataclass(slots=True)
class Range(Branch):
    """`range`: `then` once per item (dot the item), `otherwise` when there is none."""

    def run(self, state: State, dot: Any) -> None:
        mark = len(state.vars)
        try:
            items = _items(_at(self.line, self.pipe, state, dot))
            decls = self.pipe.decls
            if len(decls) == 2:
                del state.vars[-2:]
            elif decls:
                del state.vars[-1:]
            if not items:
                state.run(self.otherwise, dot)
                return
            for key, value in items:
                if len(decls) == 2:
                    state.vars.extend([[decls[0], key], [decls[1], value]])
                elif decls:
                    state.vars.append([decls[0], value])
                try:
                    state.run(self.then, value)
                except _Continue:
                    pass
                except _Break:
                    break
                finally:
                    del state.vars[mark:]
        finally:
            del state.vars[mark:]


def _items(value: Any) -> list[tuple[Any, Any]]:
    if is_missing(value):
        return []
    if isinstance(value, Mapping):
        return [(k, value[k]) for k in sorted(value, key=str)]  # Go visits map keys in sorted order
    if isinstance(value, list | tuple):
        return list(enumerate(value))
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 100_000:
        return [(i, i) for i in range(value)]
    raise TemplateError(f"range can't iterate over {go_str(value)}")


@dataclass(slots=True)
class Jump(Node):
    """`{{ break }}` or `{{ continue }}` inside a range."""

    keyword: str
    line: int = 0

    def run(self, state: State, dot: Any) -> None:
        raise _Break() if self.keyword == "break" else _Continue()


@dataclass(slots=True)
class Include(Node):
    """`{{ template "name" pipeline }}`: the named template with dot set to the pipeline's value."""

    name: str
    pipe: Pipeline | None
    line: int = 0

    def run(self, state: State, dot: Any) -> None:
        nodes = state.templates.get(self.name)
        if nodes is None:
            raise TemplateError(f'no such template "{self.name}"', self.line)
        if state.depth >= MAX_DEPTH:
            raise TemplateError(f"exceeded maximum template depth ({MAX_DEPTH})", self.line)
        value = _at(self.line, self.pipe, state, dot) if self.pipe else None
        saved, state.vars = state.vars, [["$", value]]
        state.depth += 1
        try:
            state.run(nodes, value)
        finally:
            state.vars, state.depth = saved, state.depth - 1


def _at(line: int, pipe: Pipeline, state: State, dot: Any) -> Any:
    """The pipeline's value; an execution error without a line gets the node's line."""
    try:
        return pipe.eval(state, dot)
    except TemplateError as exc:
        exc.line = exc.line or line
        raise
