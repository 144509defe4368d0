"""OPL type checks after parsing: every namespace and relation a document refers to is declared."""

from __future__ import annotations

from collections.abc import Mapping

from gatekeeper.permissions.ast import Relation
from gatekeeper.permissions.opl_lexer import OplSyntaxError, Token

Classes = Mapping[str, tuple[Token, Mapping[str, Token], Mapping[str, Token], list[Relation]]]
"""class name -> (name token, related relations, permits, every relation in order)."""


def check_types(classes: Classes, references: list[tuple[str, str, Token, str]]) -> list[OplSyntaxError]:
    """Problems with `references` ((namespace, kind, token, name)): kind is `namespace`, `relation` (related or
    permits of `namespace`), `related`, `permission`, or `traverse:<relation>` (declared in every namespace the
    relation's types name)."""
    errors: list[OplSyntaxError] = []

    def fail(token: Token, message: str) -> None:
        errors.append(OplSyntaxError(message, token.start, token.end))

    for namespace, kind, token, name in references:
        declared = classes.get(namespace)
        if kind == "namespace":
            if name not in classes:
                fail(token, f"namespace {name!r} was not declared")
        elif declared is None:
            continue  # reported as an undeclared namespace already
        elif kind == "relation" and name not in declared[1] and name not in declared[2]:
            fail(token, f"namespace {namespace!r} did not declare relation {name!r}")
        elif kind == "related" and name not in declared[1]:
            fail(token, f"namespace {namespace!r} did not declare relation {name!r} in 'related'")
        elif kind == "permission" and name not in declared[2]:
            fail(token, f"namespace {namespace!r} did not declare permission {name!r}")
        elif kind.startswith("traverse:"):
            via = next((r for r in declared[3] if r.name == kind.removeprefix("traverse:")), None)
            for subject_type in via.types if via else ():
                target = classes.get(subject_type.namespace)
                if target is not None and name not in target[1] and name not in target[2]:
                    fail(token, f"namespace {subject_type.namespace!r} did not declare relation {name!r}")
    return errors
