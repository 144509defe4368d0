"""A check of a rewritten relation reads the graph around its object in one statement (SQLite and PostgreSQL):
it must answer exactly as the level-by-level reads do, in graphs of any shape, cut by any depth, in strict mode
too, and fall back
to those reads when the graph is too large to read at once."""

from __future__ import annotations

import random
from typing import Any

from gatekeeper.config.permissions import Limit
from gatekeeper.permissions.check import GRAPH_PATHS, CheckEngine
from gatekeeper.permissions.model import RelationTuple, SubjectSet
from gatekeeper.store import Store
from gatekeeper.store.relation_tuples import GraphRequest, TupleFilter
from tests.permissions.test_check import MODEL, NAMESPACES, t, write

RELATIONS = {"Group": ["members"], "Folder": ["parents", "owners", "viewers", "banned"],
             "File": ["parents", "owners", "viewers"]}
QUESTIONS = {"Group": ["members"], "Folder": ["view", "edit", "viewers"], "File": ["view", "edit", "owners"]}
OBJECTS, USERS = ["a", "b", "c"], ["ada", "bob"]


class LevelByLevel:
    """The store with graph reads declined: every check reads level by level."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def relation_graph(self, _request: GraphRequest) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def random_world(rng: random.Random) -> list[str]:
    """Up to 14 tuples over three objects per namespace: users, groups of groups, folders in folders (cycles
    included), files in folders."""
    tuples = set()
    for _ in range(rng.randint(1, 14)):
        ns = rng.choice(list(RELATIONS))
        relation = rng.choice(RELATIONS[ns])
        left = f"{ns}:{rng.choice(OBJECTS)}#{relation}"
        if relation == "parents":
            tuples.add(f"{left}@Folder:{rng.choice(OBJECTS)}")
        elif relation in ("owners", "viewers", "members") and rng.random() < 0.4:
            tuples.add(f"{left}@Group:{rng.choice(OBJECTS)}#members")
        else:
            tuples.add(f"{left}@{rng.choice(USERS)}")
    return sorted(tuples)


async def test_graph_reads_answer_as_level_by_level_reads_in_random_worlds(store: Store) -> None:
    rng = random.Random(20261206)
    for _world in range(25):
        await store.delete_relation_tuples_matching(TupleFilter())
        world = random_world(rng)
        await write(store, *world)
        for depth, strict in ((2, False), (3, False), (5, False), (5, True)):
            limit = Limit(max_read_depth=depth)
            graph, levels = (CheckEngine(s, lambda: NAMESPACES, limit, strict=strict)
                             for s in (store, LevelByLevel(store)))
            for ns, relations in QUESTIONS.items():
                for obj in OBJECTS:
                    for relation in relations:
                        for subject in [*USERS, SubjectSet("Group", "a", "members")]:
                            question = RelationTuple(ns, obj, relation, subject)
                            assert await graph.check(question) == await levels.check(question), (world, depth, question)


async def test_a_three_level_traversal_is_one_statement(store: Store) -> None:
    await write(store, *MODEL)
    sent: list[str] = []
    store.db.on_query = lambda sql, _seconds, _error: sent.append(sql)
    allowed = await CheckEngine(store, lambda: NAMESPACES, Limit(max_read_depth=10)).check(t("File:plan#view@ada"))
    assert allowed
    assert len(sent) == 1  # file, 3 folders and the group of groups; level by level it was 5, one read per relation 19


async def test_a_graph_too_large_to_read_at_once_is_read_level_by_level(store: Store) -> None:
    groups = [f"Folder:root#viewers@Group:g{i}#members" for i in range(GRAPH_PATHS + 10)]
    await write(store, *MODEL, *groups, f"Group:g{GRAPH_PATHS + 5}#members@zoe")
    sent: list[str] = []
    store.db.on_query = lambda sql, _seconds, _error: sent.append(sql)
    engine = CheckEngine(store, lambda: NAMESPACES, Limit(max_read_depth=10, max_read_width=1000))
    assert await engine.check(t("File:plan#view@zoe"))
    first = len(sent)
    assert first > 1
    assert not await engine.check(t("File:plan#view@yan"))
    sent.clear()
    assert await engine.check(t("File:plan#view@zoe"))
    assert len(sent) == first - 1  # the object is known to be too large: no graph statement again
