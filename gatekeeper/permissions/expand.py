"""The expand engine, as Keto's: the tree of subjects in `namespace:object#relation`.

A subject set becomes a `union` node whose children are the subjects of its stored tuples (subject ids are
`leaf` nodes, subject sets are expanded in turn); at the last level of depth a subject set with tuples is a
`leaf`. A subject set already expanded elsewhere in the tree is not expanded again (cycles end there). A subject
set without tuples at the root is no tree at all (None).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gatekeeper.config.permissions import Limit
from gatekeeper.permissions.check import effective_depth
from gatekeeper.permissions.model import RelationQuery, Subject, SubjectSet, subject_json
from gatekeeper.permissions.ports import TupleStore
from gatekeeper.permissions.tuples import from_row, to_filter

_PAGE = 500


@dataclass
class Tree:
    type: str  # "union" | "leaf"
    subject: Subject
    children: list[Tree] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """Keto's `expandedPermissionTree`: the subject in `tuple`, children only when there are some."""
        out: dict[str, Any] = {"type": self.type,
                               "tuple": {"namespace": "", "object": "", "relation": "", **subject_json(self.subject)}}
        if self.children:
            out["children"] = [c.as_json() for c in self.children]
        return out


class ExpandEngine:
    def __init__(self, store: TupleStore, limit: Limit) -> None:
        self._store, self._limit = store, limit

    async def expand(self, subject_set: SubjectSet, max_depth: int = 0) -> Tree | None:
        depth = effective_depth(max_depth, self._limit.max_read_depth)
        return await self._build(subject_set, depth, set())

    async def _build(self, subject: Subject, depth: int, visited: set[SubjectSet]) -> Tree | None:
        if not isinstance(subject, SubjectSet):
            return Tree("leaf", subject)
        if subject in visited:
            return None
        visited.add(subject)
        subjects = await self._subjects(subject)
        if not subjects:
            return None
        if depth <= 1:
            return Tree("leaf", subject)
        node = Tree("union", subject)
        for child in subjects:
            node.children.append(await self._build(child, depth - 1, visited) or Tree("leaf", child))
        return node

    async def _subjects(self, s: SubjectSet) -> list[Subject]:
        query = to_filter(RelationQuery(s.namespace, s.object, s.relation))
        out: list[Subject] = []
        after = 0
        while True:
            rows = await self._store.relation_tuples_page(query, after=after, limit=_PAGE)
            out.extend(from_row(r).subject for _, r in rows)
            if len(rows) < _PAGE:
                return out
            after = rows[-1][0]
