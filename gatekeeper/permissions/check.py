"""The check engine, as Keto's: is `subject` in `namespace:object#relation`?

A relation is answered by the union of (1) its rewrite, when the OPL model gives it one, (2) a direct tuple and
(3) the subject sets stored in it, expanded. Rewrites combine computed usersets (`this.permits.x`,
`this.related.x.includes`), tuple-to-userset traversals (`this.related.x.traverse(...)`), `||`, `&&` and `!`.
Every hop through stored subject sets or a traversal spends one level of depth: the request's `max-depth`, capped
by `limit.max_read_depth`. An exhausted depth or a cycle is "unknown", which is never "allowed", also under `!`.
Children of a union or intersection run concurrently; a union stops at its first member. Database reads of one
check are bounded by a semaphore (`concurrency`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from enum import Enum
from typing import Any

from gatekeeper.config.permissions import Limit
from gatekeeper.errors import BadRequest
from gatekeeper.permissions.ast import Combine, ComputedSubjectSet, Invert, Operator, Rewrite, TupleToSubjectSet
from gatekeeper.permissions.model import RelationTuple, SubjectSet
from gatekeeper.permissions.namespaces import NamespaceSet
from gatekeeper.permissions.ports import TupleStore
from gatekeeper.permissions.tuples import to_row


class Membership(Enum):
    MEMBER = "member"
    NOT_MEMBER = "not_member"
    UNKNOWN = "unknown"  # depth exhausted or a cycle: not allowed


Step = Coroutine[Any, Any, Membership]
Path = frozenset[tuple[str, str, str]]


def effective_depth(requested: int, global_max: int) -> int:
    """Keto's rule: a request's max-depth applies when it is positive and below the global maximum."""
    return global_max if requested <= 0 or requested > global_max else requested


async def union(steps: Sequence[Step]) -> Membership:
    """Member as soon as one step is; else unknown if one was; else not a member."""
    return await _first_decisive(steps, decisive=Membership.MEMBER, otherwise=Membership.NOT_MEMBER)


async def intersection(steps: Sequence[Step]) -> Membership:
    """Not a member as soon as one step is not; else unknown if one was; else a member."""
    return await _first_decisive(steps, decisive=Membership.NOT_MEMBER, otherwise=Membership.MEMBER)


async def _first_decisive(steps: Sequence[Step], *, decisive: Membership, otherwise: Membership) -> Membership:
    """Run the steps concurrently; the first `decisive` outcome cancels the rest."""
    if len(steps) == 1:
        return await steps[0]
    tasks = [asyncio.ensure_future(s) for s in steps]
    result = otherwise
    try:
        for done in asyncio.as_completed(tasks):
            outcome = await done
            if outcome is decisive:
                return outcome
            if outcome is Membership.UNKNOWN:
                result = outcome
        return result
    finally:
        for task in tasks:
            task.cancel()


class CheckEngine:
    def __init__(self, store: TupleStore, namespaces: Callable[[], NamespaceSet], limit: Limit,
                 concurrency: int = 8) -> None:
        self._store, self._namespaces, self._limit, self._concurrency = store, namespaces, limit, concurrency

    async def check(self, t: RelationTuple, max_depth: int = 0) -> bool:
        """Whether `t` holds, directly or through the model; BadRequest for a relation the model lacks."""
        self._namespaces().relation(t.namespace, t.relation)  # a relation the model lacks: 400 before any read
        run = _Run(self._store, self._namespaces(), self._limit.max_read_width, asyncio.Semaphore(self._concurrency))
        depth = effective_depth(max_depth, self._limit.max_read_depth)
        return await run.is_allowed(t, depth, frozenset()) is Membership.MEMBER


class _Run:
    """One check: the namespaces it started with and its bound on concurrent reads."""

    def __init__(self, store: TupleStore, namespaces: NamespaceSet, width: int, reads: asyncio.Semaphore) -> None:
        self.store, self.namespaces, self.width, self.reads = store, namespaces, width, reads

    async def is_allowed(self, t: RelationTuple, depth: int, path: Path, *, skip_direct: bool = False) -> Membership:
        key = (t.namespace, t.object, t.relation)
        if depth <= 0 or key in path:
            return Membership.UNKNOWN
        path = path | {key}
        try:
            relation = self.namespaces.relation(t.namespace, t.relation)
        except BadRequest:  # a stored subject set names a relation the model lacks: nobody is in it
            return Membership.NOT_MEMBER
        steps: list[Step] = []
        if relation is not None and relation.rewrite is not None:
            steps.append(self.rewrite(t, relation.rewrite, depth, path))
        if not skip_direct:
            steps.append(self.direct(t))
        steps.append(self.expand_subject(t, depth, path))
        return await union(steps)

    async def direct(self, t: RelationTuple) -> Membership:
        async with self.reads:
            found = await self.store.relation_tuple_exists(to_row(t))
        return Membership.MEMBER if found else Membership.NOT_MEMBER

    async def subject_sets(self, t: RelationTuple, relation: str) -> tuple[list[SubjectSet], bool]:
        """The subject sets in `relation` of t's object (at most the read width) and whether t's subject is
        directly in one of them."""
        subject = t.subject
        async with self.reads:
            hits = await self.store.subject_sets_in(
                t.namespace, t.object, [relation], limit=self.width,
                subject_id=None if isinstance(subject, SubjectSet) else subject,
                subject_set=(subject.namespace, subject.object, subject.relation)
                if isinstance(subject, SubjectSet) else None)
        return [SubjectSet(*h.subject_set) for h in hits], any(h.found for h in hits)

    async def expand_subject(self, t: RelationTuple, depth: int, path: Path) -> Membership:
        sets, found = await self.subject_sets(t, t.relation)
        if found:
            return Membership.MEMBER
        if not sets:
            return Membership.NOT_MEMBER
        if depth <= 1:
            return Membership.UNKNOWN
        return await union([self.is_allowed(RelationTuple(s.namespace, s.object, s.relation, t.subject), depth - 1,
                                            path, skip_direct=True) for s in sets])

    async def rewrite(self, t: RelationTuple, rewrite: Combine, depth: int, path: Path) -> Membership:
        if depth <= 0:
            return Membership.UNKNOWN
        steps = [self.child(t, c, depth, path, within_or=rewrite.operator is Operator.OR) for c in rewrite.children]
        return await (union(steps) if rewrite.operator is Operator.OR else intersection(steps))

    async def child(self, t: RelationTuple, child: Rewrite, depth: int, path: Path, *, within_or: bool) -> Membership:
        if isinstance(child, ComputedSubjectSet):
            computed = RelationTuple(t.namespace, t.object, child.relation, t.subject)
            if within_or:  # as Keto: the direct tuple, then the relation's own rules one level deeper
                return await union([self.direct(computed),
                                    self.is_allowed(computed, depth - 1, path, skip_direct=True)])
            return await self.is_allowed(computed, depth, path)
        if isinstance(child, TupleToSubjectSet):
            return await self.traverse(t, child, depth, path)
        if isinstance(child, Invert):
            inner = await self.child(t, child.child, depth, path, within_or=False)
            return {Membership.MEMBER: Membership.NOT_MEMBER,
                    Membership.NOT_MEMBER: Membership.MEMBER}.get(inner, Membership.UNKNOWN)
        return await self.rewrite(t, child, depth - 1, path)

    async def traverse(self, t: RelationTuple, ttu: TupleToSubjectSet, depth: int, path: Path) -> Membership:
        sets, _ = await self.subject_sets(t, ttu.relation)
        if not sets:
            return Membership.NOT_MEMBER
        return await union([self.is_allowed(RelationTuple(s.namespace, s.object, ttu.computed, t.subject),
                                            depth - 1, path) for s in sets])
