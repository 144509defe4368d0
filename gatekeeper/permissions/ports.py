"""What the permissions domain needs from storage (the store's `RelationTuplePersister` fits it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from gatekeeper.store.relation_tuples import Lookup, TupleFilter, TupleRow


class TupleStore(Protocol):
    async def write_relation_tuples(self, insert: Sequence[TupleRow], delete: Sequence[TupleRow] = ()) -> None:
        """Insert and delete in one transaction (all or nothing)."""

    async def delete_relation_tuples_matching(self, f: TupleFilter) -> int: ...

    async def relation_tuples_page(self, f: TupleFilter, *, after: int, limit: int) -> list[tuple[int, TupleRow]]:
        """Tuples in `seq` order after `after`, with their `seq`."""

    async def lookup_relations(self, namespace: str, object_: str, relations: Sequence[str], *, limit: int,
                               subject_id: str | None = None, subject_set: tuple[str, str, str] | None = None,
                               direct: bool = False) -> Lookup:
        """Whether the subject is directly in one of the relations (with `direct`), and the subject sets stored
        in them, each with whether the subject is directly in it (one round trip)."""
