"""A check's reads answered from the graph around its object, read in one statement before the check starts
(`TupleStore.relation_graph`): a traversal of any depth then costs one round trip instead of one per level."""

from __future__ import annotations

from gatekeeper.store.relation_tuples import GraphRequest, Lookup, LookupRequest, RelationGraph, SubjectSetHit


class GraphReads:
    """Answers to reads from a `RelationGraph` read for `asked` (its subject)."""

    def __init__(self, graph: RelationGraph, asked: GraphRequest) -> None:
        self._graph = graph
        self._subject = (asked.subject_id, asked.subject_set)

    def answer(self, request: LookupRequest) -> Lookup | None:
        """As the store would answer `request` (see `LookupRequest`), or None when the graph cannot tell (an
        object it did not expand, another subject): then the store must."""
        node = (request.namespace, request.object)
        with_subject = request.subject_id is not None or request.subject_set is not None
        if node not in self._graph.expanded or \
                with_subject and (request.subject_id, request.subject_set) != self._subject:
            return None
        direct = self._graph.direct
        hits = [SubjectSetHit(relation, subject_set, with_subject and subject_set in direct)
                for relation, subject_set in self._graph.edges.get(node, ()) if relation in request.relations]
        found = request.direct and with_subject and \
            any((request.namespace, request.object, relation) in direct for relation in request.relations)
        return Lookup(found, hits[:request.limit])
