"""YAML loading that remembers where every key came from.

Config and rule files are validated after parsing; to name the file and line of a bad key we keep
a side table `{dotted.path: line}` built while composing the YAML node tree.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml


@dataclass(frozen=True)
class Source:
    """Where a document came from: a name for messages and the line of each key path.

    A document merged from several files (`overlay`) also knows which file each key path came from.
    """

    name: str
    lines: dict[str, int] = field(default_factory=dict)
    duplicates: tuple[tuple[str, int, int], ...] = ()  # (key path, line, line of the first occurrence)
    files: Mapping[str, str] = field(default_factory=dict)

    def line(self, path: str) -> int | None:
        """The line of `path`, or of its nearest ancestor that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path.rpartition(".")[0]
        return self.lines.get("")

    def file(self, path: str) -> str:
        """The file `path` was read from (the document's name unless it was merged from several)."""
        while path:
            if path in self.files:
                return self.files[path]
            path = path.rpartition(".")[0]
        return self.files.get("", self.name)


class YamlError(ValueError):
    """A document that is not valid YAML; carries the line the parser stopped at."""

    def __init__(self, name: str, line: int | None, message: str) -> None:
        self.name, self.line, self.message = name, line, message
        where = f"{name}:{line}" if line else name
        super().__init__(f"{where}: {message}")


def join(path: str, key: str | int) -> str:
    """Dotted path of a child key (`a.b` + `c` -> `a.b.c`, list items by index)."""
    return f"{path}.{key}" if path else str(key)


def load(text: str, name: str) -> tuple[Any, Source]:
    """Parse one YAML (or JSON) document; returns the data and its key positions."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise YamlError(name, mark.line + 1 if mark else None, str(exc.problem or exc)) from None
    except yaml.YAMLError as exc:
        raise YamlError(name, None, str(exc)) from None
    except RecursionError:
        raise YamlError(name, None, "nested too deeply") from None
    if node is None:
        return None, Source(name, {"": 1})
    lines: dict[str, int] = {"": node.start_mark.line + 1}
    duplicates: list[tuple[str, int, int]] = []
    try:
        _index(node, "", lines, duplicates, set(), [])
    except _RecursiveAlias as exc:
        raise YamlError(name, exc.line, "an alias refers to a node that contains it") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:  # constructor errors (bad tags) surface only here
        raise YamlError(name, None, str(exc)) from None
    return data, Source(name, lines, tuple(duplicates))


class _RecursiveAlias(Exception):
    def __init__(self, line: int) -> None:
        self.line = line


def _index(node: yaml.Node, path: str, lines: dict[str, int], duplicates: list[tuple[str, int, int]],
           indexed: set[int], parents: list[yaml.Node]) -> None:
    """Index every key once: a node reached again through an alias keeps the lines of its anchor (its paths
    under the alias fall back to the alias's line), so alias bombs stay linear and recursive aliases end."""
    if id(node) in indexed:
        if any(p is node for p in parents):
            raise _RecursiveAlias(parents[-1].start_mark.line + 1)
        return
    indexed.add(id(node))
    parents.append(node)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = join(path, key)
            line = key_node.start_mark.line + 1
            if key in seen and key != "<<":  # YAML merge keys may repeat
                duplicates.append((child, line, seen[key]))
            seen.setdefault(key, line)
            lines[child] = line
            _index(value_node, child, lines, duplicates, indexed, parents)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            child = join(path, i)
            lines[child] = item.start_mark.line + 1
            _index(item, child, lines, duplicates, indexed, parents)
    parents.pop()


def overlay(base: tuple[Any, Source], top: tuple[Any, Source]) -> tuple[dict[str, Any], Source]:
    """`top` read over `base`, as Ory's CLIs merge several `-c` files: mappings merge key by key, any other
    value (a list too) of the later file replaces the earlier one. Lines and files follow the values."""
    data: dict[str, Any] = copy.deepcopy(base[0]) if isinstance(base[0], dict) else {}
    lines = dict(base[1].lines)
    files = {path: base[1].file(path) for path in lines}
    top_source = top[1]

    def merge(into: dict[str, Any], new: Mapping[Any, Any], path: str) -> None:
        for key, value in new.items():
            child = join(path, str(key))
            if isinstance(value, dict) and isinstance(into.get(key), dict):
                merge(into[key], value, child)
                continue
            into[key] = copy.deepcopy(value)
            for stale in [p for p in lines if p.startswith(child + ".")]:
                del lines[stale]
                files.pop(stale, None)
            for p, line in top_source.lines.items():
                if p == child or p.startswith(child + "."):
                    lines[p], files[p] = line, top_source.file(p)

    if isinstance(top[0], dict):
        merge(data, top[0], "")
    return data, Source(f"{base[1].name} + {top_source.name}", lines, (), files)
