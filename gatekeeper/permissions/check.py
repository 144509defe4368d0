"""The check engine, as Keto's: is `subject` in `namespace:object#relation`?

A relation is answered by the union of (1) its rewrite, when the OPL model gives it one, (2) a direct tuple and
(3) the subject sets stored in it, expanded. Rewrites combine computed usersets (`this.permits.x`,
`this.related.x.includes`), tuple-to-userset traversals (`this.related.x.traverse(...)`), `||`, `&&` and `!`.
Depth is counted as Keto v25.4 counts it: the request's `max-depth` (capped by `limit.max_read_depth`) is the
relation's; its rewrite runs at that depth, its direct tuple and stored subject sets one level down (so a direct
tuple needs a depth of 2), each stored subject set expanded and each traversal costs a level more, and so does a
nested `( ... )` of another operator. In Keto's strict mode, a relation with a rewrite has no tuples of its own
and only a relation whose types include a subject set has subject sets to expand (fewer reads; tuples the model
does not allow are ignored). An exhausted depth or a cycle is "unknown", which is never "allowed", also
under `!` (where Keto would turn it into "allowed").
Children of a union or intersection run concurrently; a union stops at its first member. A check of a rewritten
relation starts by reading the graph around its object (the objects its stored subject sets lead to, up to its
depth, and where the subject is) in one statement, and answers its steps' reads from it (`graph_reads`). Reads it
cannot answer (a graph too large to read at once, a relation without a rewrite) go to the store, those that
concurrently started steps ask for as one statement (`batch.ReadBatcher`: one per level of a traversal), at most
`concurrency` statements at a time. With a `CheckCache`, answers are reused for a short while (see cache.py) and a
check asked again while it runs shares its answer (an expired popular answer is computed once, not by every
request waiting for it); a store error fails the check (never allowed, never cached).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Hashable, Sequence
from enum import Enum
from typing import Any

from cachetools import TTLCache

from gatekeeper.config.permissions import Limit
from gatekeeper.errors import BadRequest, GatekeeperError
from gatekeeper.permissions.ast import (
    Combine,
    ComputedSubjectSet,
    Invert,
    Operator,
    Relation,
    Rewrite,
    TupleToSubjectSet,
)
from gatekeeper.permissions.batch import ReadBatcher
from gatekeeper.permissions.cache import Cached, CheckCache
from gatekeeper.permissions.graph_reads import GraphReads
from gatekeeper.permissions.metrics import PermissionMetrics
from gatekeeper.permissions.model import RelationTuple, SubjectSet
from gatekeeper.permissions.namespaces import NamespaceSet
from gatekeeper.permissions.ports import TupleStore
from gatekeeper.permissions.tuples import to_row
from gatekeeper.store.relation_tuples import GraphRequest, Lookup, LookupRequest, TupleRow


class Membership(Enum):
    MEMBER = "member"
    NOT_MEMBER = "not_member"
    UNKNOWN = "unknown"  # depth exhausted or a cycle: not allowed


GRAPH_PATHS = 256
"""A check of a relation with a rewrite first reads the graph around its object in one statement, unless more than
this many paths lead from it (then level by level, as a relation without one: a direct tuple is one cheaper read)."""
WIDE_OBJECTS, WIDE_SECONDS = 4096, 60.0
"""Objects found to have more paths are remembered (at most this many, this long) and read level by level at once."""

Step = Coroutine[Any, Any, Membership]
Path = frozenset[tuple[str, str, str]]


def effective_depth(requested: int, global_max: int) -> int:
    """Keto's rule: a request's max-depth applies when it is positive and below the global maximum."""
    return global_max if requested <= 0 or requested > global_max else requested


async def union(steps: Sequence[Step], *, in_order: bool = False) -> Membership:
    """Member as soon as one step is; else unknown if one was; else not a member."""
    return await _first_decisive(steps, Membership.MEMBER, Membership.NOT_MEMBER, in_order)


async def intersection(steps: Sequence[Step], *, in_order: bool = False) -> Membership:
    """Not a member as soon as one step is not; else unknown if one was; else a member."""
    return await _first_decisive(steps, Membership.NOT_MEMBER, Membership.MEMBER, in_order)


async def _first_decisive(steps: Sequence[Step], decisive: Membership, otherwise: Membership,
                          in_order: bool) -> Membership:
    """Run the steps concurrently (or, `in_order`, one after the other: cheaper when they do not wait for the
    store); the first `decisive` outcome (or error) ends the rest. (Done callbacks on one future rather than
    `asyncio.as_completed`: a check runs dozens of these.)"""
    if in_order:
        return await _in_order(steps, decisive, otherwise)
    if len(steps) == 1:
        return await steps[0]
    loop = asyncio.get_running_loop()
    tasks = [loop.create_task(s) for s in steps]
    answer: asyncio.Future[Membership] = loop.create_future()
    pending, seen_unknown = len(tasks), False

    def landed(task: asyncio.Task[Membership]) -> None:
        nonlocal pending, seen_unknown
        pending -= 1
        outcome = None if task.cancelled() or task.exception() else task.result()  # an error is retrieved too
        if answer.done():
            return
        if not task.cancelled() and (error := task.exception()) is not None:
            answer.set_exception(error)
        elif outcome is decisive:
            answer.set_result(decisive)
        elif outcome is Membership.UNKNOWN:
            seen_unknown = True
        if pending == 0 and not answer.done():
            answer.set_result(Membership.UNKNOWN if seen_unknown else otherwise)

    for task in tasks:
        task.add_done_callback(landed)
    try:
        return await answer
    finally:
        for task in tasks:
            task.cancel()


async def _in_order(steps: Sequence[Step], decisive: Membership, otherwise: Membership) -> Membership:
    remaining, seen_unknown = iter(steps), False
    try:
        for step in remaining:
            outcome = await step
            if outcome is decisive:
                return decisive
            seen_unknown = seen_unknown or outcome is Membership.UNKNOWN
        return Membership.UNKNOWN if seen_unknown else otherwise
    finally:
        for step in remaining:
            step.close()


class CheckEngine:
    """Checks on `store` under the current model; `strict` is Keto's `namespaces.experimental_strict_mode`."""

    def __init__(self, store: TupleStore, namespaces: Callable[[], NamespaceSet], limit: Limit,
                 metrics: PermissionMetrics | None = None, concurrency: int = 8,
                 cache: CheckCache | None = None, strict: bool = False) -> None:
        self._store, self._namespaces, self._limit, self._concurrency = store, namespaces, limit, concurrency
        self._metrics, self._cache, self._strict = metrics, cache, strict
        self._flights: dict[tuple[Hashable, int], asyncio.Future[bool]] = {}
        self._wide: TTLCache[tuple[str, str], bool] = TTLCache(WIDE_OBJECTS, WIDE_SECONDS)

    async def check(self, t: RelationTuple, max_depth: int = 0) -> bool:
        """Whether `t` holds, directly or through the model. An unknown namespace (of the object or of a subject
        set) is simply not allowed, as Keto's check endpoints answer; BadRequest for a relation the model lacks."""
        metrics = self._metrics
        if metrics is None:
            return await self._check(t, max_depth)
        start, counter = time.perf_counter(), metrics.error
        try:
            allowed = await self._check(t, max_depth)
            counter = metrics.allowed if allowed else metrics.denied
            return allowed
        finally:
            counter.inc()
            metrics.check_seconds.observe(time.perf_counter() - start)

    async def _check(self, t: RelationTuple, max_depth: int) -> bool:
        namespaces = self._namespaces()
        depth = effective_depth(max_depth, self._limit.max_read_depth)
        key = (namespaces, t.namespace, t.object, t.relation, t.subject, depth)  # a reloaded model: new answers
        if (cached := self._cached(key)) is not None:  # only answers to tuples this model accepted are stored
            if cached.due:
                self._flight(key, namespaces, t, depth)  # renewed in the background; this request does not wait
            return cached.allowed
        subject = t.subject
        if namespaces.get(t.namespace) is None or \
                isinstance(subject, SubjectSet) and namespaces.get(subject.namespace) is None:
            return False
        namespaces.relation(t.namespace, t.relation)  # a relation the model lacks: 400 before any read
        if self._cache is None:
            return await self._run(namespaces, t, depth)
        return await asyncio.shield(self._flight(key, namespaces, t, depth))

    def _flight(self, key: Hashable, namespaces: NamespaceSet, t: RelationTuple, depth: int) -> asyncio.Future[bool]:
        """The computation of `key` since the cache's last clear: the running one (the same question asked again
        while it runs shares the answer, or the error), else a new one whose answer the cache keeps."""
        assert self._cache is not None
        flight = (key, self._cache.generation)
        running = self._flights.get(flight)
        if running is None:
            running = self._flights[flight] = asyncio.ensure_future(self._run(namespaces, t, depth))
            running.add_done_callback(lambda done: self._landed(flight, done))
        return running

    def _cached(self, key: Hashable) -> Cached | None:
        """The cache's answer to `key` (a lookup counted as a hit or a miss); None without a cache."""
        if self._cache is None:
            return None
        cached = self._cache.get(key)
        if self._metrics is not None:
            (self._metrics.cache_miss if cached is None else self._metrics.cache_hit).inc()
        return cached

    def _landed(self, flight: tuple[Hashable, int], done: asyncio.Future[bool]) -> None:
        del self._flights[flight]
        if self._cache is not None and not done.cancelled() and done.exception() is None:
            self._cache.put(flight[0], done.result(), flight[1])

    async def _run(self, namespaces: NamespaceSet, t: RelationTuple, depth: int) -> bool:
        asked = to_row(t)  # its subject as the store's columns
        relation = namespaces.relation(t.namespace, t.relation)  # None: a legacy namespace's, never rewritten
        graph = None
        if relation and relation.rewrite and (t.namespace, t.object) not in self._wide:
            graph = await self._graph(asked, depth)
            if graph is None:
                self._wide[(t.namespace, t.object)] = True
        reads = ReadBatcher(self._store, asyncio.Semaphore(self._concurrency))
        run = _Run(namespaces, self._limit.max_read_width, reads, graph, self._strict, asked)
        return await run.is_allowed(t, depth, frozenset()) is Membership.MEMBER

    async def _graph(self, asked: TupleRow, depth: int) -> GraphReads | None:
        """The check's reads from the graph around its object (one statement), or None when it is too large."""
        around = GraphRequest(asked.namespace, asked.object, depth, GRAPH_PATHS, asked.subject_id, asked.subject_set)
        graph = await self._store.relation_graph(around)
        return None if graph is None else GraphReads(graph, around)

    async def check_batch(self, asked: Sequence[RelationTuple], max_depth: int = 0) -> list[tuple[bool, str]]:
        """Keto's batch check: (allowed, error) per tuple, in order, at most `limit.batch_check_max_parallelization`
        at a time; an unknown namespace or a relation the model lacks is that tuple's error."""
        parallel = asyncio.Semaphore(self._limit.batch_check_max_parallelization)

        async def one(t: RelationTuple) -> tuple[bool, str]:
            async with parallel:
                try:
                    self._namespaces().require(t.namespace)
                    return await self.check(t, max_depth), ""
                except GatekeeperError as exc:
                    return False, exc.reason or exc.message

        return list(await asyncio.gather(*(one(t) for t in asked)))


class _Run:
    """One check: the namespaces it started with and its reads."""

    def __init__(self, namespaces: NamespaceSet, width: int, reads: ReadBatcher, graph: GraphReads | None,
                 strict: bool, asked: TupleRow) -> None:
        self.namespaces, self.width, self.reads, self.graph, self.strict = namespaces, width, reads, graph, strict
        self.subject = (asked.subject_id, asked.subject_set)  # every step asks about the check's subject
        self.in_order = graph is not None  # reads answered from memory: nothing to wait for concurrently

    def definition(self, namespace: str, relation: str) -> Relation | None:
        try:
            return self.namespaces.relation(namespace, relation)
        except BadRequest:  # a stored subject set names a relation the model lacks: nobody is in it
            return None

    def rewritten(self, namespace: str, relation: str) -> bool:
        return (definition := self.definition(namespace, relation)) is not None and definition.rewrite is not None

    def typed_sets(self, namespace: str, relation: str) -> bool:
        """Whether the relation may hold subject sets in strict mode: its types include one (or it has no
        definition: a legacy namespace's)."""
        definition = self.definition(namespace, relation)
        return definition is None or any(kind.relation for kind in definition.types)

    async def is_allowed(self, t: RelationTuple, depth: int, path: Path, *, skip_direct: bool = False) -> Membership:
        """The relation's rewrite (at this depth), then its direct tuple (unless skipped) and its stored subject
        sets one level down: as in Keto, a direct tuple needs a depth of 2. In strict mode, a relation with a
        rewrite has no direct tuples and only a relation whose types include a subject set has subject sets."""
        key = (t.namespace, t.object, t.relation)
        if depth <= 0 or key in path:
            return Membership.UNKNOWN
        path = path | {key}
        relation = self.definition(t.namespace, t.relation)
        direct = not skip_direct and not (self.strict and relation is not None and relation.rewrite is not None)
        expand = not self.strict or self.typed_sets(t.namespace, t.relation)
        steps: list[Step] = []
        if relation is not None and relation.rewrite is not None:
            steps.append(self.rewrite(t, relation.rewrite, depth, path))
        if depth > 1 and (direct or expand):
            steps.append(self.lookup(t, [t.relation], depth - 1, path, direct=direct, expand=expand))
        return await union(steps, in_order=self.in_order) if steps else Membership.UNKNOWN

    async def read(self, t: RelationTuple, relations: list[str], *, direct: bool, subject: bool = True,
                   expand: bool = True) -> Lookup:
        """One read (the subject sets stored there only when `expand`): from the graph read at the start, else
        sent with the others asked for at the same time."""
        subject_id, subject_set = self.subject if subject else (None, None)
        request = LookupRequest(t.namespace, t.object, tuple(relations), self.width if expand else 0,
                                subject_id=subject_id, subject_set=subject_set, direct=direct)
        if self.graph is not None and (known := self.graph.answer(request)) is not None:
            return known
        return await self.reads.read(request)

    async def lookup(self, t: RelationTuple, relations: list[str], depth: int, path: Path, *,
                     direct: bool, expand: bool = True) -> Membership:
        """A direct tuple in one of `relations` (with `direct`, at any depth), then (with `expand`) the subject
        sets stored there, expanded with `depth` (none left: unknown)."""
        if depth <= 0 and not direct:
            return Membership.UNKNOWN
        found = await self.read(t, relations, direct=direct, expand=expand)
        if found.direct:
            return Membership.MEMBER
        if not found.subject_sets:
            return Membership.NOT_MEMBER
        if depth <= 0:
            return Membership.UNKNOWN
        if any(hit.found for hit in found.subject_sets):
            return Membership.MEMBER
        return await union([self.is_allowed(RelationTuple(*hit.subject_set, t.subject), depth, path,
                                            skip_direct=True) for hit in found.subject_sets], in_order=self.in_order)

    async def rewrite(self, t: RelationTuple, rewrite: Combine, depth: int, path: Path) -> Membership:
        if depth <= 0:
            return Membership.UNKNOWN
        if rewrite.operator is Operator.AND:
            return await intersection([self.child(t, c, depth, path) for c in rewrite.children], in_order=self.in_order)
        computed = [c.relation for c in rewrite.children if isinstance(c, ComputedSubjectSet)]
        steps = [self.child(t, c, depth, path) for c in rewrite.children if not isinstance(c, ComputedSubjectSet)]
        # as Keto: their direct tuples in one read (strict mode: not of relations with a rewrite, which have none),
        # the rest of each relation one level deeper
        stored = [name for name in computed if not (self.strict and self.rewritten(t.namespace, name))]
        for expand in (True, False) if self.strict else (True,):  # strict: subject sets only where typed
            names = [name for name in stored if not self.strict or self.typed_sets(t.namespace, name) is expand]
            if names:
                steps.append(self.lookup(t, names, depth - 2, path, direct=True, expand=expand))
        steps.extend(self.computed_rewrite(t, name, depth - 1, path) for name in computed)
        return await union(steps, in_order=self.in_order)

    async def computed_rewrite(self, t: RelationTuple, relation: str, depth: int, path: Path) -> Membership:
        """The rewrite of another relation of the same object (nothing when it has none)."""
        definition = self.definition(t.namespace, relation)
        key = (t.namespace, t.object, relation)
        if definition is None or definition.rewrite is None:
            return Membership.NOT_MEMBER
        if depth <= 0 or key in path:
            return Membership.UNKNOWN
        return await self.rewrite(RelationTuple(t.namespace, t.object, relation, t.subject), definition.rewrite,
                                  depth, path | {key})

    async def child(self, t: RelationTuple, child: Rewrite, depth: int, path: Path) -> Membership:
        if isinstance(child, ComputedSubjectSet):
            return await self.is_allowed(RelationTuple(t.namespace, t.object, child.relation, t.subject), depth, path)
        if isinstance(child, TupleToSubjectSet):
            return await self.traverse(t, child, depth, path)
        if isinstance(child, Invert):
            inner = await self.child(t, child.child, depth, path)
            return {Membership.MEMBER: Membership.NOT_MEMBER,
                    Membership.NOT_MEMBER: Membership.MEMBER}.get(inner, Membership.UNKNOWN)
        return await self.rewrite(t, child, depth - 1, path)

    async def traverse(self, t: RelationTuple, ttu: TupleToSubjectSet, depth: int, path: Path) -> Membership:
        found = await self.read(t, [ttu.relation], direct=False, subject=False)
        if not found.subject_sets:
            return Membership.NOT_MEMBER
        return await union([self.is_allowed(RelationTuple(hit.subject_set[0], hit.subject_set[1], ttu.computed,
                                                          t.subject), depth - 1, path) for hit in found.subject_sets],
                           in_order=self.in_order)
