"""What a namespace defines: relations, the subject types each relation accepts, and permission rewrites
(the `permits` of an OPL class) as a small tree of userset rewrites, as in Zanzibar and Keto."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Operator(StrEnum):
    OR = "or"
    AND = "and"


@dataclass(frozen=True, slots=True)
class ComputedSubjectSet:
    """`this.permits.x(ctx)` or `this.related.x.includes(ctx.subject)`: the subject is in `relation` of the
    same object."""

    relation: str


@dataclass(frozen=True, slots=True)
class TupleToSubjectSet:
    """`this.related.relation.traverse((p) => p.<permits|related>.computed...)`: for every subject set in
    `relation` of the object, the subject is in `computed` of that subject set's object."""

    relation: str
    computed: str


@dataclass(frozen=True, slots=True)
class Invert:
    """`!child`."""

    child: Rewrite


@dataclass(frozen=True, slots=True)
class Combine:
    """`a || b ...` (OR) or `a && b ...` (AND)."""

    operator: Operator
    children: tuple[Rewrite, ...]


Rewrite = ComputedSubjectSet | TupleToSubjectSet | Invert | Combine


@dataclass(frozen=True, slots=True)
class SubjectType:
    """A type a `related` relation accepts: `User` (namespace) or `SubjectSet<Group, "members">`."""

    namespace: str
    relation: str = ""


@dataclass(frozen=True, slots=True)
class Relation:
    name: str
    types: tuple[SubjectType, ...] = ()
    rewrite: Combine | None = None  # a permission (`permits`); None for a plain relation (`related`)


@dataclass(frozen=True)
class Namespace:
    """A namespace; `relations` is empty for a legacy namespace (any relation, no rewrites)."""

    name: str
    relations: Mapping[str, Relation] = field(default_factory=dict)

    def relation(self, name: str) -> Relation | None:
        return self.relations.get(name)
