"""Keto's relation tuples: written and deleted in batches (one transaction each), listed in keyset pages by
`seq`, and read by the check and expand engines (a direct tuple; the subject sets of an object's relation)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from gatekeeper.store.db import Database, Row

_SUBJECT_SET = ("subject_set_namespace", "subject_set_object", "subject_set_relation")
_COLUMNS = ("namespace", "object", "relation", "subject_id", *_SUBJECT_SET)


class TupleRow(NamedTuple):
    """One tuple; exactly one of `subject_id` and `subject_set` (namespace, object, relation) is set."""

    namespace: str
    object: str
    relation: str
    subject_id: str | None = None
    subject_set: tuple[str, str, str] | None = None


class TupleFilter(NamedTuple):
    """Which tuples: every field that is not None must match."""

    namespace: str | None = None
    object: str | None = None
    relation: str | None = None
    subject_id: str | None = None
    subject_set: tuple[str, str, str] | None = None


class SubjectSetHit(NamedTuple):
    """A subject set found in an object's relation, and whether the subject asked about is directly in it."""

    relation: str
    subject_set: tuple[str, str, str]
    found: bool


class LookupRequest(NamedTuple):
    """A check step's read: whether the subject is directly in one of `relations` of `namespace:object` (with
    `direct`), and the subject sets stored there (at most `limit`, oldest first), each with whether the subject is
    directly in it. Without a subject only the subject sets are read."""

    namespace: str
    object: str
    relations: tuple[str, ...]
    limit: int
    subject_id: str | None = None
    subject_set: tuple[str, str, str] | None = None
    direct: bool = False


class Lookup(NamedTuple):
    direct: bool  # the subject is directly in one of the relations
    subject_sets: list[SubjectSetHit]


class GraphRequest(NamedTuple):
    """The part of the tuple graph a check may read: the objects reachable from `namespace:object` over at most
    `hops` stored subject sets, and where `subject` is directly. At most `cap` paths are followed."""

    namespace: str
    object: str
    hops: int
    cap: int
    subject_id: str | None = None
    subject_set: tuple[str, str, str] | None = None


class RelationGraph(NamedTuple):
    """A `GraphRequest`'s answer. `expanded` objects (fewer than `hops` away) have all their stored subject sets
    in `edges` ((relation, subject set) in `seq` order); `direct` holds (namespace, object, relation) of every
    reached object's tuples whose subject is the request's."""

    expanded: frozenset[tuple[str, str]]
    edges: dict[tuple[str, str], list[tuple[str, tuple[str, str, str]]]]
    direct: frozenset[tuple[str, str, str]]


def _values(row: TupleRow) -> tuple[Any, ...]:
    ss = row.subject_set or (None, None, None)
    return (row.namespace, row.object, row.relation, row.subject_id, *ss)


def _where(f: TupleFilter | TupleRow, args: list[Any], alias: str = "") -> list[str]:
    """SQL conditions for `f`, its values appended to `args`; an exact tuple also requires the other subject kind
    to be absent."""
    where = []
    values = (f.namespace, f.object, f.relation, f.subject_id, *(f.subject_set or (None, None, None)))
    for column, value in zip(_COLUMNS, values, strict=True):
        if value is not None:
            args.append(value)
            where.append(f"{alias}{column} = ${len(args)}")
    if f.subject_id is not None:
        where.append(f"{alias}subject_set_namespace IS NULL")
    elif f.subject_set is not None:
        where.append(f"{alias}subject_id IS NULL")
    return where


def _row(r: Row) -> TupleRow:
    if r["subject_id"] is not None:
        return TupleRow(r["namespace"], r["object"], r["relation"], r["subject_id"])
    return TupleRow(r["namespace"], r["object"], r["relation"], None,
                    (r["subject_set_namespace"], r["subject_set_object"], r["subject_set_relation"]))


class RelationTuplePersister:
    db: Database

    async def write_relation_tuples(self, insert: Sequence[TupleRow], delete: Sequence[TupleRow] = ()) -> None:
        """Insert (existing tuples are kept as they are) and delete tuples, all in one transaction."""
        now = datetime.now(UTC)
        async with self.db.transaction() as tx:
            if insert:
                await tx.execute_many(
                    f"INSERT INTO relation_tuples ({', '.join(_COLUMNS)}, created_at) "  # noqa: S608
                    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
                    [(*_values(row), now) for row in insert])
            for row in delete:
                args: list[Any] = []
                await tx.execute(f"DELETE FROM relation_tuples WHERE {' AND '.join(_where(row, args))}",  # noqa: S608
                                 *args)

    async def delete_relation_tuples_matching(self, f: TupleFilter) -> int:
        """Delete every tuple `f` matches; returns how many."""
        args: list[Any] = []
        where = _where(f, args)
        return await self.db.execute(
            f"DELETE FROM relation_tuples {'WHERE ' + ' AND '.join(where) if where else ''}", *args)  # noqa: S608

    async def relation_tuples_page(self, f: TupleFilter, *, after: int, limit: int) -> list[tuple[int, TupleRow]]:
        """Up to `limit` tuples `f` matches with `seq` above `after`, in `seq` order, with their `seq`."""
        args: list[Any] = [after]
        where = ["seq > $1", *_where(f, args)]
        args.append(limit)
        rows = await self.db.fetch_all(
            f"SELECT * FROM relation_tuples WHERE {' AND '.join(where)} ORDER BY seq LIMIT ${len(args)}",  # noqa: S608
            *args)
        return [(int(r["seq"]), _row(r)) for r in rows]

    async def lookup_many(self, requests: Sequence[LookupRequest]) -> list[Lookup]:
        """One statement for many check steps, answered in order (see `LookupRequest`)."""
        args: list[Any] = []
        parts = [_lookup_sql(i, request, args) for i, request in enumerate(requests)]
        rows = await self.db.fetch_all(" UNION ALL ".join(parts), *args)
        direct = [False] * len(requests)
        hits: list[list[SubjectSetHit]] = [[] for _ in requests]
        for r in rows:
            if r["kind"] == 0:
                direct[r["q"]] = True
            else:
                hits[r["q"]].append(SubjectSetHit(r["relation"], (r["subject_set_namespace"], r["subject_set_object"],
                                                                  r["subject_set_relation"]), bool(r["found"])))
        return [Lookup(d, h) for d, h in zip(direct, hits, strict=True)]

    async def relation_graph(self, request: GraphRequest) -> RelationGraph | None:
        """The graph around a check's object in one statement; None when it is larger than `request.cap` paths
        (then the check reads step by step)."""
        args: list[Any] = [request.namespace, request.object, request.hops, request.cap, EDGES_PER_PATH * request.cap]
        dialect = self.db.dialect
        # SQLite: `+` keeps its planner from the subject's index (and a Bloom filter over the table) here
        subject = _where(TupleFilter(subject_id=request.subject_id, subject_set=request.subject_set), args,
                         "+t." if dialect == "sqlite" else "t.")
        rows = await self.db.fetch_all(_graph_sql(dialect, " AND ".join(subject) or "FALSE"), *args)
        paths, expanded, direct = 0, set(), set()
        edges: dict[tuple[str, str], list[tuple[str, tuple[str, str, str]]]] = {}
        for r in rows:
            node = (r["namespace"], r["object"])
            if r["kind"] == 0:
                paths += r["seq"]
                if r["hop"] < request.hops:
                    expanded.add(node)
            elif r["kind"] == 1:
                edges.setdefault(node, []).append(
                    (r["relation"], (r["subject_set_namespace"], r["subject_set_object"], r["subject_set_relation"])))
            else:
                direct.add((*node, r["relation"]))
        if paths >= request.cap or sum(map(len, edges.values())) >= EDGES_PER_PATH * request.cap:
            return None
        return RelationGraph(frozenset(expanded), edges, frozenset(direct))


EDGES_PER_PATH = 4
"""A graph with more stored subject sets than this many per path followed is too large to read at once."""


def _graph_sql(dialect: str, subject: str) -> str:
    """`relation_graph`'s statement: rows of kind 0 (an object reached: its nearest hop, and in `seq` the number
    of paths reaching it), 1 (a subject set stored at an expanded object, at most $5) and 2 (a tuple of the
    subject's at a reached object), ordered by kind and `seq`. SQLite caps the paths inside the recursion,
    PostgreSQL (which refuses that) by reading the recursion lazily."""
    inner_cap, outer_cap = ("LIMIT $4", "") if dialect == "sqlite" else ("", "LIMIT $4")
    return (  # a SELECT (not WITH): a read, which SQLite runs on its reader connection
        "SELECT * FROM (WITH RECURSIVE reach(namespace, object, hop) AS ("  # noqa: S608 - no value in the text
        " SELECT CAST($1 AS TEXT), CAST($2 AS TEXT), 0"
        " UNION SELECT t.subject_set_namespace, t.subject_set_object, r.hop + 1"
        f" FROM reach r {_tuples_of('r', dialect)}"
        f" WHERE t.subject_set_namespace IS NOT NULL AND r.hop < $3 {inner_cap}),"
        " nodes AS (SELECT namespace, object, MIN(hop) AS hop, COUNT(*) AS paths"
        f" FROM (SELECT namespace, object, hop FROM reach {outer_cap}) AS capped GROUP BY namespace, object)"
        " SELECT 0 AS kind, paths AS seq, hop, namespace, object, '' AS relation, NULL AS subject_set_namespace,"
        " NULL AS subject_set_object, NULL AS subject_set_relation FROM nodes"
        " UNION ALL SELECT * FROM (SELECT 1, t.seq, n.hop, t.namespace, t.object, t.relation, t.subject_set_namespace,"
        f" t.subject_set_object, t.subject_set_relation FROM nodes n {_tuples_of('n', dialect)}"
        " WHERE n.hop < $3 AND t.subject_set_namespace IS NOT NULL LIMIT $5) AS edges"
        f" UNION ALL SELECT 2, t.seq, n.hop, t.namespace, t.object, t.relation, NULL, NULL, NULL FROM nodes n"
        f" {_tuples_of('n', dialect)} WHERE {subject}) AS graph ORDER BY kind, seq")


def _tuples_of(outer: str, dialect: str) -> str:
    """A join of the tuples (`t`) of the object in `outer`'s row. SQLite gets the tuples' row ids from a
    subquery: joined directly, it scans the whole table for a Bloom filter in each statement."""
    if dialect == "sqlite":
        return ("JOIN relation_tuples t ON t.seq IN (SELECT seq FROM relation_tuples"  # noqa: S608 - no value
                f" WHERE namespace = {outer}.namespace AND object = {outer}.object)")
    return f"JOIN relation_tuples t ON t.namespace = {outer}.namespace AND t.object = {outer}.object"


def _lookup_sql(q: int, request: LookupRequest, args: list[Any]) -> str:
    """The SELECTs answering one request, tagged `q`, their values appended to `args`: the direct tuple (a row of
    kind 0) and the subject sets stored in the relations (kind 1, with whether the subject is directly in each)."""
    args.extend((request.namespace, request.object))
    ns, obj = f"${len(args) - 1}", f"${len(args)}"
    marks = []
    for relation in request.relations:
        args.append(relation)
        marks.append(f"${len(args)}")

    def scope(alias: str) -> str:
        return f"{alias}namespace = {ns} AND {alias}object = {obj} AND {alias}relation IN ({', '.join(marks)})"

    subject = TupleFilter(subject_id=request.subject_id, subject_set=request.subject_set)
    inner = _where(subject, args, "d.")
    found = ("EXISTS (SELECT 1 FROM relation_tuples d WHERE d.namespace = t.subject_set_namespace AND "  # noqa: S608
             "d.object = t.subject_set_object AND d.relation = t.subject_set_relation AND "
             f"{' AND '.join(inner)})") if inner else "FALSE"
    exact = _where(subject, args) if request.direct and inner else []
    args.append(request.limit)
    sql = (f"SELECT * FROM (SELECT {q} AS q, 1 AS kind, t.relation, t.subject_set_namespace, "  # noqa: S608
           f"t.subject_set_object, t.subject_set_relation, {found} AS found FROM relation_tuples t "
           f"WHERE {scope('t.')} AND t.subject_set_namespace IS NOT NULL ORDER BY t.seq LIMIT ${len(args)}) AS s{q}")
    if exact:
        sql = (f"SELECT * FROM (SELECT {q} AS q, 0 AS kind, relation, '' AS subject_set_namespace, "  # noqa: S608
               f"'' AS subject_set_object, '' AS subject_set_relation, TRUE AS found FROM relation_tuples "
               f"WHERE {scope('')} AND {' AND '.join(exact)} LIMIT 1) AS d{q} UNION ALL {sql}")
    return sql
