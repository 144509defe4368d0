"""Relation tuples in the store behave the same on SQLite and PostgreSQL: unique per tuple, batches all or
nothing, keyset pages, subject-set lookups for the check engine."""

from __future__ import annotations

import pytest

from gatekeeper.errors import StoreError
from gatekeeper.store import Store
from gatekeeper.store.relation_tuples import SubjectSetHit, TupleFilter, TupleRow

ADA = TupleRow("File", "report", "viewers", "ada")
EDITORS = TupleRow("File", "report", "viewers", None, ("Group", "editors", "members"))
BOB_IN_EDITORS = TupleRow("Group", "editors", "members", "bob")


async def test_a_tuple_is_stored_once_and_found_exactly(store: Store) -> None:
    await store.write_relation_tuples([ADA, ADA, EDITORS])
    await store.write_relation_tuples([ADA])
    page = await store.relation_tuples_page(TupleFilter(), after=0, limit=10)
    assert [row for _, row in page] == [ADA, EDITORS]
    assert await store.relation_tuple_exists(ADA)
    assert not await store.relation_tuple_exists(ADA._replace(subject_id="eve"))
    assert not await store.relation_tuple_exists(EDITORS._replace(subject_set=("Group", "editors", "")))


async def test_filters_select_by_object_relation_and_either_kind_of_subject(store: Store) -> None:
    await store.write_relation_tuples([ADA, EDITORS, BOB_IN_EDITORS])
    by_subject_set = await store.relation_tuples_page(TupleFilter(subject_set=("Group", "editors", "members")),
                                                      after=0, limit=10)
    assert [r for _, r in by_subject_set] == [EDITORS]
    by_subject_id = await store.relation_tuples_page(TupleFilter(subject_id="bob"), after=0, limit=10)
    assert [r for _, r in by_subject_id] == [BOB_IN_EDITORS]
    in_namespace = await store.relation_tuples_page(TupleFilter(namespace="File", relation="viewers"), after=0,
                                                    limit=10)
    assert len(in_namespace) == 2


async def test_pages_continue_after_the_last_seq(store: Store) -> None:
    rows = [TupleRow("File", f"f{i}", "owners", "ada") for i in range(5)]
    await store.write_relation_tuples(rows)
    first = await store.relation_tuples_page(TupleFilter(namespace="File"), after=0, limit=2)
    rest = await store.relation_tuples_page(TupleFilter(namespace="File"), after=first[-1][0], limit=10)
    assert [r for _, r in first + rest] == rows


async def test_a_batch_with_a_failing_statement_changes_nothing(store: Store) -> None:
    await store.write_relation_tuples([ADA])
    broken = TupleRow("File", "x", "owners", None, ("Group", "g", None))  # type: ignore[arg-type]
    with pytest.raises(StoreError):
        await store.write_relation_tuples([BOB_IN_EDITORS, broken], [ADA])
    assert [r for _, r in await store.relation_tuples_page(TupleFilter(), after=0, limit=10)] == [ADA]


async def test_subject_sets_come_with_whether_the_subject_is_directly_in_them(store: Store) -> None:
    await store.write_relation_tuples([ADA, EDITORS, BOB_IN_EDITORS])
    hits = await store.subject_sets_in("File", "report", ["viewers"], limit=10, subject_id="bob")
    assert hits == [SubjectSetHit("viewers", ("Group", "editors", "members"), True)]
    misses = await store.subject_sets_in("File", "report", ["viewers"], limit=10, subject_id="ada")
    assert misses == [SubjectSetHit("viewers", ("Group", "editors", "members"), False)]


async def test_deleting_by_query_and_by_tuple(store: Store) -> None:
    await store.write_relation_tuples([ADA, EDITORS, BOB_IN_EDITORS])
    await store.write_relation_tuples([], [EDITORS])
    assert await store.delete_relation_tuples_matching(TupleFilter(namespace="Group")) == 1
    assert [r for _, r in await store.relation_tuples_page(TupleFilter(), after=0, limit=10)] == [ADA]
