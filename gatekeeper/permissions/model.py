"""Keto's data model: a relation tuple `namespace:object#relation@subject`, where the subject is a subject id or
a subject set `namespace:object#relation` (an empty relation names the object itself)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gatekeeper.errors import BadRequest


@dataclass(frozen=True, slots=True)
class SubjectSet:
    namespace: str
    object: str
    relation: str = ""

    def __str__(self) -> str:
        return f"{self.namespace}:{self.object}" + (f"#{self.relation}" if self.relation else "")

    def as_json(self) -> dict[str, str]:
        return {"namespace": self.namespace, "object": self.object, "relation": self.relation}


Subject = str | SubjectSet
"""A subject id (any string) or a subject set."""


@dataclass(frozen=True, slots=True)
class RelationTuple:
    namespace: str
    object: str
    relation: str
    subject: Subject

    def __str__(self) -> str:
        return f"{self.namespace}:{self.object}#{self.relation}@{self.subject}"

    def as_json(self) -> dict[str, Any]:
        """Keto's wire form: `subject_id` or `subject_set`."""
        out: dict[str, Any] = {"namespace": self.namespace, "object": self.object, "relation": self.relation}
        out.update(subject_json(self.subject))
        return out


@dataclass(frozen=True, slots=True)
class RelationQuery:
    """A filter on tuples: every field that is not None must match."""

    namespace: str | None = None
    object: str | None = None
    relation: str | None = None
    subject: Subject | None = None


def subject_json(subject: Subject) -> dict[str, Any]:
    return {"subject_set": subject.as_json()} if isinstance(subject, SubjectSet) else {"subject_id": subject}


SUBJECT_SET_KEYS = ("subject_set.namespace", "subject_set.object", "subject_set.relation")
QUERY_KEYS = ("namespace", "object", "relation", "subject_id", *SUBJECT_SET_KEYS)


def query_from_params(params: dict[str, str]) -> RelationQuery:
    """A query from Keto's URL parameters (`subject_id` or all three `subject_set.*`)."""
    if "subject" in params:
        raise BadRequest(reason='provide "subject_id" or "subject_set.*"; support for "subject" was dropped')
    has_set = [key in params for key in SUBJECT_SET_KEYS]
    subject: Subject | None = None
    if "subject_id" in params and any(has_set):
        raise BadRequest("exactly one of subject_set or subject_id has to be provided")
    if "subject_id" in params:
        subject = params["subject_id"]
    elif all(has_set):
        subject = SubjectSet(*(params[key] for key in SUBJECT_SET_KEYS))
    elif any(has_set):
        raise BadRequest('incomplete subject, provide "subject_id" or a complete "subject_set.*"')
    return RelationQuery(params.get("namespace"), params.get("object"), params.get("relation"), subject)


def tuple_from_params(params: dict[str, str]) -> RelationTuple:
    """A whole tuple from URL parameters (check)."""
    return complete(query_from_params(params))


def complete(query: RelationQuery) -> RelationTuple:
    if query.subject is None:
        raise BadRequest("subject is not allowed to be nil", reason="Please provide a subject.")
    if query.namespace is None or query.object is None or query.relation is None:
        raise BadRequest('incomplete tuple, provide "namespace", "object", "relation", and a subject')
    return RelationTuple(query.namespace, query.object, query.relation, query.subject)


def tuple_from_json(data: Any) -> RelationTuple:
    """A tuple from Keto's JSON body (`subject_id` or `subject_set`); a malformed one is 400."""
    if type(data) is dict and data.get("subject_set") is None:  # the usual shape: four strings, checked at once
        get = data.get
        namespace, object_, relation, subject_id = get("namespace"), get("object"), get("relation"), get("subject_id")
        if type(namespace) is str and type(object_) is str and type(relation) is str and type(subject_id) is str:
            return RelationTuple(namespace, object_, relation, subject_id)
    if not isinstance(data, dict):
        raise BadRequest("expected a relation tuple object")
    fields = {}
    for key in ("namespace", "object", "relation"):
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise BadRequest(f"{key} must be a string")
        fields[key] = value
    subject_id, subject_set = data.get("subject_id"), data.get("subject_set")
    if subject_id is not None and subject_set is not None:
        raise BadRequest("exactly one of subject_set or subject_id has to be provided")
    subject: Subject | None = None
    if subject_id is not None:
        if not isinstance(subject_id, str):
            raise BadRequest("subject_id must be a string")
        subject = subject_id
    elif subject_set is not None:
        subject = subject_set_from_json(subject_set)
    return complete(RelationQuery(fields["namespace"], fields["object"], fields["relation"], subject))


def subject_set_from_json(data: Any) -> SubjectSet:
    if not isinstance(data, dict) or not all(isinstance(data.get(k, ""), str) for k in ("namespace", "object",
                                                                                         "relation")):
        raise BadRequest("malformed subject_set: expected {namespace, object, relation} strings")
    if not data.get("namespace") or not data.get("object"):
        raise BadRequest("malformed subject_set: namespace and object are required")
    return SubjectSet(data["namespace"], data["object"], data.get("relation", ""))


def tuple_from_text(text: str) -> RelationTuple:
    """Keto's text form `ns:object#relation@subject` (the subject set may be in brackets: `@(ns:object#rel)`);
    ValueError with Keto's reason when a separator is missing."""
    namespace, colon, rest = text.partition(":")
    obj, hash_, rest = rest.partition("#")
    relation, at, subject = rest.partition("@")
    for found, char in ((colon, ":"), (hash_, "#"), (at, "@")):
        if not found:
            raise ValueError(f"expected input to contain '{char}'")
    subject = subject.strip("()")
    if ":" not in subject:
        return RelationTuple(namespace, obj, relation, subject)
    set_namespace, _, set_rest = subject.partition(":")
    set_object, _, set_relation = set_rest.partition("#")
    return RelationTuple(namespace, obj, relation, SubjectSet(set_namespace, set_object, set_relation))
