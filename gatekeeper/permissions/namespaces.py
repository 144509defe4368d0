"""The configured namespaces by name: from the legacy list, Keto's legacy namespace files, or an OPL file (parsed
once; a reload builds a new `NamespaceSet` and swaps it in whole)."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

from gatekeeper.config.permissions import LegacyNamespace, NamespaceDirectory, NamespaceFile, Namespaces
from gatekeeper.errors import BadRequest, NotFound
from gatekeeper.permissions.ast import Namespace, Relation
from gatekeeper.permissions.opl import parse, syntax_errors
from gatekeeper.permissions.opl_lexer import OplSyntaxError


class NamespaceFileError(Exception):
    """A namespace file cannot be read or has problems: (`file:line:column` or `file`, message) each."""

    def __init__(self, path: str, problems: list[tuple[str, str]]) -> None:
        self.path, self.problems = path, problems
        super().__init__("\n".join(f"{where}: {message}" for where, message in problems))


class NamespaceSet:
    """Namespaces by name, immutable."""

    def __init__(self, namespaces: Iterable[Namespace]) -> None:
        self._by_name = {ns.name: ns for ns in namespaces}

    def names(self) -> list[str]:
        return list(self._by_name)

    def get(self, name: str) -> Namespace | None:
        return self._by_name.get(name)

    def require(self, name: str) -> Namespace:
        """The namespace, or Keto's 404 for an unknown one."""
        found = self._by_name.get(name)
        if found is None:
            raise NotFound(reason=f"Unknown namespace with name {name!r}.")
        return found

    def relation(self, namespace: str, relation: str) -> Relation | None:
        """The model's definition of `relation` (None: a legacy or unknown namespace, or no relation given); a
        relation an OPL namespace does not define is Keto's 400."""
        found = self._by_name.get(namespace)
        if found is None or not found.relations or not relation:
            return None
        definition = found.relation(relation)
        if definition is None:
            raise BadRequest(reason=f"relation {relation!r} does not exist")
        return definition


def load_namespaces(config: Namespaces) -> NamespaceSet:
    """The namespaces `config` describes (none when it is unset); raises NamespaceFileError for a bad OPL file."""
    if config is None:
        return NamespaceSet(())
    if isinstance(config, NamespaceFile):
        return read_opl_file(config.path)
    if isinstance(config, NamespaceDirectory):
        return read_namespace_files(config.path)
    return NamespaceSet(Namespace(entry.name) for entry in config if isinstance(entry, LegacyNamespace))


def read_opl_file(path: str) -> NamespaceSet:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise NamespaceFileError(path, [(path, f"cannot read: {exc.strerror}")]) from None
    errors: list[OplSyntaxError] = syntax_errors(text)
    if errors:
        raise NamespaceFileError(path, [(f"{path}:{e.start.line}:{e.start.column}", e.message) for e in errors])
    return NamespaceSet(parse(text))


PARSERS: dict[str, Callable[[str], Any]] = {".json": json.loads, ".yaml": yaml.safe_load, ".yml": yaml.safe_load,
                                            ".toml": tomllib.loads}
"""Keto's namespace file formats, by extension (files with any other are skipped, as Keto does)."""


def namespace_files(path: str) -> list[Path]:
    """The namespace files at `path`: the file itself, or a directory's files with a known extension, by name."""
    target = Path(path)
    if not target.is_dir():
        return [target]
    return sorted(f for f in target.iterdir() if f.suffix in PARSERS and f.is_file())


def read_namespace_files(path: str) -> NamespaceSet:
    """Keto's legacy namespace files (`{id, name}` each, no rewrites); a problem names its file."""
    names: dict[str, Path] = {}
    problems: list[tuple[str, str]] = []
    for file in namespace_files(path):
        try:
            document = PARSERS.get(file.suffix, yaml.safe_load)(file.read_text(encoding="utf-8"))
        except OSError as exc:
            problems.append((str(file), f"cannot read: {exc.strerror}"))
            continue
        except (ValueError, yaml.YAMLError) as exc:  # json, toml and yaml parse errors
            problems.append((str(file), f"not a namespace file: {exc}"))
            continue
        name = document.get("name") if isinstance(document, dict) else None
        if not isinstance(name, str) or not name:
            problems.append((str(file), "expected a namespace {id, name} with a non-empty name"))
        elif name in names:
            problems.append((str(file), f"namespace {name!r} is also defined in {names[name]}"))
        else:
            names[name] = file
    if problems:
        raise NamespaceFileError(path, problems)
    return NamespaceSet(Namespace(name) for name in names)
