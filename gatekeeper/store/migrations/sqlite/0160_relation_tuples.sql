-- Keto's relation tuples (namespace:object#relation@subject); the subject is a subject id or a subject set,
-- exactly one of the two (the CHECK). seq orders pages (keyset pagination) and is never reused.
CREATE TABLE relation_tuples (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace TEXT NOT NULL,
    object TEXT NOT NULL,
    relation TEXT NOT NULL,
    subject_id TEXT,
    subject_set_namespace TEXT,
    subject_set_object TEXT,
    subject_set_relation TEXT,
    created_at TIMESTAMP NOT NULL,
    CHECK ((subject_id IS NULL) <> (subject_set_namespace IS NULL)),
    CHECK ((subject_set_namespace IS NULL) = (subject_set_object IS NULL)),
    CHECK ((subject_set_namespace IS NULL) = (subject_set_relation IS NULL))
);
-- one row per tuple
CREATE UNIQUE INDEX relation_tuples_unique ON relation_tuples (
    namespace, object, relation, COALESCE(subject_id, ''), COALESCE(subject_set_namespace, ''),
    COALESCE(subject_set_object, ''), COALESCE(subject_set_relation, ''));
-- check: a direct tuple; the tuples of namespace:object#relation in page order (subject sets to expand or
-- traverse, expand, listing)
CREATE INDEX relation_tuples_check ON relation_tuples (namespace, object, relation, subject_id);
CREATE INDEX relation_tuples_object ON relation_tuples (namespace, object, relation, seq);
-- reverse lookups: what a subject id or a subject set has a relation to
CREATE INDEX relation_tuples_subject_id ON relation_tuples (subject_id, namespace, relation);
CREATE INDEX relation_tuples_subject_set ON relation_tuples (subject_set_namespace, subject_set_object,
    subject_set_relation);
-- listing by namespace alone, in page order
CREATE INDEX relation_tuples_namespace ON relation_tuples (namespace, seq);
