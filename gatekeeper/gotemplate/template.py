"""Compiled Go templates: one source, or a set of files parsed together (Go's `ParseFS`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gatekeeper.gotemplate.builtins import BUILTINS
from gatekeeper.gotemplate.html import escape_html
from gatekeeper.gotemplate.nodes import Node, Operand, Output, State, Text, call, resolve, walk
from gatekeeper.gotemplate.parser import parse
from gatekeeper.gotemplate.sprig import SPRIG
from gatekeeper.gotemplate.values import TemplateError, go_str, is_missing

Functions = Mapping[str, Callable[..., Any]]
FUNCTIONS: Functions = {**BUILTINS, **SPRIG}  # as Go's Funcs(sprig...): sprig's names win


class Template:
    """A compiled template and the templates it can call: `render(data)` never parses.

    `root_fields` are the field names read from the data's top level (`.X` outside `range`/`with`, `$.X`).
    """

    __slots__ = ("name", "root_fields", "_main", "_templates", "_funcs", "render")
    render: Callable[[Any], str]

    def __init__(self, name: str, templates: dict[str, list[Node]], funcs: Functions,
                 root_fields: frozenset[str]) -> None:
        self.name = name
        self.root_fields = root_fields
        self._main = templates[name]
        self._templates = templates
        self._funcs = funcs
        self.render = _fast_path(self._main, funcs, name) or _flat_path(self._main, funcs, name) or self._render

    def _render(self, data: Any) -> str:
        state = State(self._funcs, self._templates, data)
        try:
            state.run(self._main, data)
        except TemplateError as exc:
            exc.name = exc.name or self.name
            raise
        except RecursionError:
            raise TemplateError("too deeply nested", name=self.name) from None
        return "".join(state.out)


def compile_template(source: str, *, name: str = "template", funcs: Functions = FUNCTIONS,
                     html: bool = False) -> Template:
    """Parse `source` (a `TemplateError` names `name` and the line); `html` escapes outputs as html/template."""
    return compile_files({name: source}, name, funcs=funcs, html=html)


def compile_files(files: Mapping[str, str], main: str, *, funcs: Functions = FUNCTIONS,
                  html: bool = False) -> Template:
    """Parse several files into one set (each callable by its name, plus what they `define`); run `main`."""
    templates: dict[str, list[Node]] = {}
    root_fields: frozenset[str] = frozenset()
    for name, source in files.items():
        try:
            parsed = parse(source, funcs)
        except TemplateError as exc:
            exc.name = name
            raise
        except RecursionError:
            raise TemplateError("too deeply nested", name=name) from None
        templates[name] = parsed.nodes
        templates.update(parsed.defines)
        if name == main:
            root_fields = parsed.root_fields
    if html:
        for nodes in templates.values():
            escape_html(nodes)
    return Template(main, templates, funcs, root_fields)


def _fast_path(nodes: list[Node], funcs: Functions, name: str) -> Callable[[Any], str] | None:
    """`{{ .A.b }}` or `{{ print .A.b }}` alone: a walk down the fields, no interpreter."""
    if len(nodes) != 1 or not isinstance(nodes[0], Output) or nodes[0].escape is not None:
        return None
    pipe = nodes[0].pipe
    if pipe.decls or len(pipe.commands) != 1:
        return None
    operands = pipe.commands[0].operands
    printer = None
    if len(operands) == 2 and operands[0] == Operand("func", "print"):
        printer, operands = funcs["print"], operands[1:]
    if len(operands) != 1 or operands[0].kind != "field":
        return None
    path, line = operands[0].path, nodes[0].line

    def render(data: Any) -> str:
        try:
            value = resolve(walk(data, path), path[-1])
            return printer(None if is_missing(value) else value) if printer else go_str(value)
        except TemplateError as exc:
            exc.line, exc.name = exc.line or line, exc.name or name
            raise

    return render


def _flat_path(nodes: list[Node], funcs: Functions, name: str) -> Callable[[Any], str] | None:
    """Text and outputs of one function or field whose arguments are fields and literals (`{"object":
    "{{ printIndex .MatchContext.RegexpCaptureGroups 1 }}"}`, as Oathkeeper's payloads are written): each output a
    closure over its function and field chains, the same values and errors as the interpreter without its state."""
    parts: list[str | Callable[[Any], str]] = []
    for node in nodes:
        part = node.text if isinstance(node, Text) else _simple_output(node, funcs)
        if part is None:
            return None
        parts.append(part)

    def render(data: Any) -> str:
        try:
            return "".join([part if isinstance(part, str) else part(data) for part in parts])
        except TemplateError as exc:
            exc.name = exc.name or name
            raise

    return render


def _simple_output(node: Node, funcs: Functions) -> Callable[[Any], str] | None:
    if not isinstance(node, Output) or node.escape is not None or node.pipe.decls or len(node.pipe.commands) != 1:
        return None
    command = node.pipe.commands[0]
    head, operands = command.operands[0], command.operands[1:]
    if command.logic or not (head.kind == "func" and not head.path or head.kind in ("field", "dot")) or \
            any(o.kind not in ("field", "dot", "literal") for o in operands):
        return None
    arguments = [_argument(o) for o in operands]
    line, path = node.line, head.path
    function = funcs[head.value] if head.kind == "func" else None

    def output(data: Any) -> str:  # Output.run of Operand.invoke
        try:
            args = [argument(data) for argument in arguments]
            if function is not None:
                value = call(function, head.value, args)
            elif callable(value := walk(data, path)):
                value = call(value, path[-1] if path else "method", args)
            elif args:
                raise TemplateError(f"can't give argument to non-function {head.describe()}")
            return value if type(value) is str else go_str(value)
        except TemplateError as exc:
            exc.line = exc.line or line
            raise

    return output


def _argument(operand: Operand) -> Callable[[Any], Any]:
    """`Operand.arg` of a field, dot or literal (which read no state)."""
    path, literal = operand.path, operand.kind == "literal"
    if not path:
        return (lambda _data: resolve(operand.value)) if literal else resolve
    return lambda data: resolve(walk(operand.value if literal else data, path), path[-1])
