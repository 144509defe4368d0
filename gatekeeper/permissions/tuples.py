"""Reading and writing relation tuples (Keto's read and write APIs without HTTP): every namespace named must be
configured; a batch is written in one transaction, so a bad entry changes nothing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gatekeeper.errors import BadRequest
from gatekeeper.permissions.model import RelationQuery, RelationTuple, Subject, SubjectSet
from gatekeeper.permissions.namespaces import NamespaceSet
from gatekeeper.permissions.pagination import PageTokens
from gatekeeper.permissions.ports import TupleChanges, TupleStore
from gatekeeper.store.relation_tuples import TupleFilter, TupleRow


def to_row(t: RelationTuple) -> TupleRow:
    if isinstance(t.subject, SubjectSet):
        return TupleRow(t.namespace, t.object, t.relation, None, (t.subject.namespace, t.subject.object,
                                                                 t.subject.relation))
    return TupleRow(t.namespace, t.object, t.relation, t.subject)


def from_row(row: TupleRow) -> RelationTuple:
    subject: Subject = SubjectSet(*row.subject_set) if row.subject_set is not None else row.subject_id or ""
    return RelationTuple(row.namespace, row.object, row.relation, subject)


def to_filter(q: RelationQuery) -> TupleFilter:
    s = q.subject
    if isinstance(s, SubjectSet):
        return TupleFilter(q.namespace, q.object, q.relation, None, (s.namespace, s.object, s.relation))
    return TupleFilter(q.namespace, q.object, q.relation, s)


@dataclass(frozen=True)
class Page:
    tuples: list[RelationTuple]
    next_page_token: str  # empty on the last page


class RelationTuples:
    """Keto's tuple reads and writes over the store, for the configured namespaces; each write is announced to
    `changes` (the replicas' check caches) once it is committed."""

    def __init__(self, store: TupleStore, namespaces: Callable[[], NamespaceSet], tokens: PageTokens,
                 changes: TupleChanges | None = None) -> None:
        self._store, self._namespaces, self._tokens, self._changes = store, namespaces, tokens, changes

    async def _changed(self) -> None:
        if self._changes is not None:
            await self._changes.changed()

    def _known(self, tuples: Sequence[RelationTuple]) -> None:
        namespaces = self._namespaces()
        for t in tuples:
            namespaces.require(t.namespace)
            if isinstance(t.subject, SubjectSet):
                namespaces.require(t.subject.namespace)

    async def list(self, query: RelationQuery, *, size: int, token: str | None) -> Page:
        if query.namespace is not None:
            self._namespaces().require(query.namespace)
        after = self._tokens.read(token) if token else 0
        rows = await self._store.relation_tuples_page(to_filter(query), after=after, limit=size + 1)
        more = len(rows) > size
        rows = rows[:size]
        return Page([from_row(r) for _, r in rows], self._tokens.issue(rows[-1][0]) if more else "")

    async def create(self, t: RelationTuple) -> RelationTuple:
        self._known([t])
        await self._store.write_relation_tuples([to_row(t)])
        await self._changed()
        return t

    async def transact(self, insert: Sequence[RelationTuple], delete: Sequence[RelationTuple]) -> None:
        """Apply every insert and delete, or none (an unknown namespace anywhere refuses the whole batch)."""
        self._known([*insert, *delete])
        await self._store.write_relation_tuples([to_row(t) for t in insert], [to_row(t) for t in delete])
        await self._changed()

    async def delete_subject(self, subject_id: str) -> int:
        """Delete every tuple whose subject is `subject_id`, in every namespace (an identity being deleted)."""
        deleted = await self._store.delete_relation_tuples_matching(TupleFilter(subject_id=subject_id))
        await self._changed()
        return deleted

    async def delete(self, query: RelationQuery) -> int:
        if query.namespace is None:
            raise BadRequest(reason="a namespace is required to delete relation tuples")
        self._namespaces().require(query.namespace)
        deleted = await self._store.delete_relation_tuples_matching(to_filter(query))
        await self._changed()
        return deleted
