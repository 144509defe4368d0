"""The configured namespaces by name: from the legacy list, or from an OPL file (parsed once; a reload builds a
new `NamespaceSet` and swaps it in whole)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from gatekeeper.config.permissions import LegacyNamespace, NamespaceFile, Namespaces
from gatekeeper.errors import BadRequest, NotFound
from gatekeeper.permissions.ast import Namespace, Relation
from gatekeeper.permissions.opl import parse, syntax_errors
from gatekeeper.permissions.opl_lexer import OplSyntaxError


class NamespaceFileError(Exception):
    """The OPL file cannot be read or has problems: (`file:line:column` or `file`, message) each."""

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
