"""What the permissions domain needs from storage (the store's `RelationTuplePersister` fits it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from gatekeeper.store.relation_tuples import GraphRequest, Lookup, LookupRequest, RelationGraph, TupleFilter, TupleRow


class TupleStore(Protocol):
    async def write_relation_tuples(self, insert: Sequence[TupleRow], delete: Sequence[TupleRow] = ()) -> None:
        """Insert and delete in one transaction (all or nothing)."""

    async def delete_relation_tuples_matching(self, f: TupleFilter) -> int: ...

    async def relation_tuples_page(self, f: TupleFilter, *, after: int, limit: int) -> list[tuple[int, TupleRow]]:
        """Tuples in `seq` order after `after`, with their `seq`."""

    async def lookup_many(self, requests: Sequence[LookupRequest]) -> list[Lookup]:
        """The answer to each request, in order, in one round trip."""

    async def relation_graph(self, request: GraphRequest) -> RelationGraph | None:
        """The objects around a check's object and where its subject is, in one round trip (None: too large)."""


class TupleChanges(Protocol):
    async def changed(self) -> None:
        """Tuples were written or deleted here: every replica's cached check answers must go."""
