"""Relation tuples in the store behave the same on SQLite and PostgreSQL: unique per tuple, batches all or
nothing, keyset pages, subject-set lookups for the check engine."""

from __future__ import annotations

from typing import Any

import pytest

from gatekeeper.errors import StoreError
from gatekeeper.store import Store
from gatekeeper.store.relation_tuples import Lookup, LookupRequest, SubjectSetHit, TupleFilter, TupleRow

ADA = TupleRow("File", "report", "viewers", "ada")
EDITORS = TupleRow("File", "report", "viewers", None, ("Group", "editors", "members"))
BOB_IN_EDITORS = TupleRow("Group", "editors", "members", "bob")


async def lookup(store: Store, relations: list[str], **subject: Any) -> Lookup:
    """One request about File:report, at most 10 subject sets."""
    [found] = await store.lookup_many([LookupRequest("File", "report", tuple(relations), 10, **subject)])
    return found


async def test_a_tuple_is_stored_once_and_found_exactly(store: Store) -> None:
    await store.write_relation_tuples([ADA, ADA, EDITORS])
    await store.write_relation_tuples([ADA])
    page = await store.relation_tuples_page(TupleFilter(), after=0, limit=10)
    assert [row for _, row in page] == [ADA, EDITORS]
    assert (await lookup(store, ["viewers"], subject_id="ada",
                                         direct=True)).direct
    assert not (await lookup(store, ["viewers"], subject_id="eve",
                                             direct=True)).direct
    assert not (await lookup(store, ["viewers"], direct=True,
                                             subject_set=("Group", "editors", ""))).direct


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


async def test_one_lookup_answers_direct_and_subject_sets_with_whether_the_subject_is_in_them(store: Store) -> None:
    await store.write_relation_tuples([ADA, EDITORS, BOB_IN_EDITORS, TupleRow("File", "report", "owners", "carl")])
    editors = SubjectSetHit("viewers", ("Group", "editors", "members"), True)
    bob = await lookup(store, ["viewers"], subject_id="bob", direct=True)
    assert bob == Lookup(False, [editors])
    ada = await lookup(store, ["viewers"], subject_id="ada", direct=True)
    assert ada == Lookup(True, [editors._replace(found=False)])
    carl = await lookup(store, ["viewers", "owners"], subject_id="carl",
                                        direct=True)
    assert carl.direct
    no_subject = await lookup(store, ["viewers"])
    assert no_subject == Lookup(False, [editors._replace(found=False)])


async def test_deleting_by_query_and_by_tuple(store: Store) -> None:
    await store.write_relation_tuples([ADA, EDITORS, BOB_IN_EDITORS])
    await store.write_relation_tuples([], [EDITORS])
    assert await store.delete_relation_tuples_matching(TupleFilter(namespace="Group")) == 1
    assert [r for _, r in await store.relation_tuples_page(TupleFilter(), after=0, limit=10)] == [ADA]


async def test_many_lookups_in_one_statement_are_answered_in_order(store: Store) -> None:
    await store.write_relation_tuples([ADA, EDITORS, BOB_IN_EDITORS])
    found = await store.lookup_many([
        LookupRequest("File", "report", ("viewers",), 10, subject_id="bob", direct=True),
        LookupRequest("Group", "editors", ("members",), 10, subject_id="bob", direct=True),
        LookupRequest("File", "report", ("owners",), 10, subject_id="ada", direct=True),
        LookupRequest("File", "report", ("viewers",), 10, subject_id="ada", direct=True),
    ])
    editors = SubjectSetHit("viewers", ("Group", "editors", "members"), True)
    assert found == [Lookup(False, [editors]), Lookup(True, []), Lookup(False, []),
                     Lookup(True, [editors._replace(found=False)])]
