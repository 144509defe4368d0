"""The check and expand engines on the files/folders/groups model (fixtures/namespaces.keto.ts), on a real store
(SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from gatekeeper.config import Config
from gatekeeper.config.permissions import Limit
from gatekeeper.errors import BadRequest
from gatekeeper.permissions.ast import Namespace
from gatekeeper.permissions.check import CheckEngine
from gatekeeper.permissions.expand import ExpandEngine
from gatekeeper.permissions.model import RelationTuple, SubjectSet
from gatekeeper.permissions.namespaces import NamespaceSet, read_opl_file
from gatekeeper.permissions.tuples import to_row
from gatekeeper.store import Store
from tests.support.servers import running_gatekeeper

OPL = Path(__file__).parent / "fixtures" / "namespaces.keto.ts"
NAMESPACES = read_opl_file(str(OPL))


def t(text: str) -> RelationTuple:
    """`ns:object#relation@subject`, the subject `ns:object#relation` or an id."""
    left, subject = text.split("@", 1)
    ns, rest = left.split(":", 1)
    obj, rel = rest.split("#", 1)
    if ":" in subject:
        sns, srest = subject.split(":", 1)
        sobj, _, srel = srest.partition("#")
        return RelationTuple(ns, obj, rel, SubjectSet(sns, sobj, srel))
    return RelationTuple(ns, obj, rel, subject)


async def write(store: Store, *tuples: str) -> None:
    await store.write_relation_tuples([to_row(t(x)) for x in tuples])


def engine(store: Store, depth: int = 5) -> CheckEngine:
    return CheckEngine(store, lambda: NAMESPACES, Limit(max_read_depth=depth))


MODEL = [
    "Group:devs#members@ada",
    "Group:staff#members@Group:devs#members",
    "Folder:root#viewers@Group:staff#members",
    "Folder:docs#parents@Folder:root",
    "Folder:private#parents@Folder:docs",
    "File:plan#parents@Folder:private",
    "File:memo#owners@carl",
    "Folder:docs#banned@eve",
    "Folder:root#viewers@eve",
]


@pytest.mark.parametrize(("question", "allowed"), [
    pytest.param("Group:devs#members@ada", True, id="direct tuple"),
    pytest.param("Group:staff#members@ada", True, id="subject set expanded"),
    pytest.param("File:memo#edit@carl", True, id="computed userset: owners -> edit"),
    pytest.param("File:memo#view@carl", True, id="computed userset twice: owners -> edit -> view"),
    pytest.param("File:plan#view@ada", True, id="traversal: file -> 3 folders -> group of groups"),
    pytest.param("File:plan#view@bob", False, id="stranger"),
    pytest.param("Folder:root#view@eve", True, id="viewer of root"),
    pytest.param("Folder:docs#view@eve", False, id="&& !banned wins over the parent's view"),
    pytest.param("File:plan#edit@ada", False, id="viewing is not editing"),
])
async def test_checks_follow_the_model(store: Store, question: str, allowed: bool) -> None:
    await write(store, *MODEL)
    assert await engine(store, depth=10).check(t(question)) is allowed


async def test_an_exhausted_depth_is_not_allowed(store: Store) -> None:
    await write(store, *MODEL)
    assert await engine(store).check(t("File:plan#view@ada"), max_depth=3) is False
    assert await engine(store, depth=3).check(t("File:plan#view@ada"), max_depth=50) is False
    assert await engine(store, depth=50).check(t("File:plan#view@ada"), max_depth=50) is True


async def test_depth_exhausted_under_not_is_still_not_allowed(store: Store) -> None:
    await write(store, "Folder:root#viewers@Group:staff#members", "Group:staff#members@Group:devs#members",
                "Group:devs#members@ada")
    assert await engine(store).check(t("Folder:root#view@ada")) is True
    assert await engine(store).check(t("Folder:root#view@ada"), max_depth=1) is False


async def test_cycles_end(store: Store) -> None:
    await write(store, "Group:a#members@Group:b#members", "Group:b#members@Group:a#members",
                "Folder:x#parents@Folder:y", "Folder:y#parents@Folder:x")
    assert await engine(store, depth=200).check(t("Group:a#members@ada")) is False
    assert await engine(store, depth=200).check(t("Folder:x#view@ada")) is False


async def test_a_relation_the_model_lacks_is_a_bad_request(store: Store) -> None:
    with pytest.raises(BadRequest):
        await engine(store).check(t("File:plan#delete@ada"))


async def test_expand_returns_keto_s_tree(store: Store) -> None:
    await write(store, *MODEL)
    tree = await ExpandEngine(store, Limit()).expand(SubjectSet("Group", "staff", "members"))
    assert tree is not None
    assert tree.as_json() == {
        "type": "union",
        "tuple": {"namespace": "", "object": "", "relation": "",
                  "subject_set": {"namespace": "Group", "object": "staff", "relation": "members"}},
        "children": [{
            "type": "union",
            "tuple": {"namespace": "", "object": "", "relation": "",
                      "subject_set": {"namespace": "Group", "object": "devs", "relation": "members"}},
            "children": [{"type": "leaf", "tuple": {"namespace": "", "object": "", "relation": "",
                                                    "subject_id": "ada"}}]}]}
    shallow = await ExpandEngine(store, Limit()).expand(SubjectSet("Group", "staff", "members"), max_depth=1)
    assert shallow is not None and shallow.type == "leaf" and not shallow.children
    assert await ExpandEngine(store, Limit()).expand(SubjectSet("Group", "nobody", "members")) is None


async def test_an_over_deep_expansion_is_cut_at_the_global_depth(store: Store) -> None:
    chain = [f"Group:g{i}#members@Group:g{i + 1}#members" for i in range(8)] + ["Group:g8#members@ada"]
    await write(store, *chain)

    def depth(node: dict[str, object]) -> int:
        children = node.get("children") or []
        assert isinstance(children, list)
        return 1 + max((depth(c) for c in children), default=0)

    capped = await ExpandEngine(store, Limit(max_read_depth=3)).expand(SubjectSet("Group", "g0", "members"), 1000)
    assert capped is not None and depth(capped.as_json()) == 3
    whole = await ExpandEngine(store, Limit(max_read_depth=20)).expand(SubjectSet("Group", "g0", "members"))
    assert whole is not None and depth(whole.as_json()) == 10


LEGACY = NamespaceSet([Namespace("test")])


async def test_depth_is_counted_as_keto_counts_it(store: Store) -> None:
    """Keto's own case: `access` through `owner` through `admin` needs a max-depth of 3."""
    await write(store, "test:object#admin@user", "test:object#owner@test:object#admin",
                "test:object#access@test:object#owner")
    access = t("test:object#access@user")

    def legacy(depth: int) -> CheckEngine:
        return CheckEngine(store, lambda: LEGACY, Limit(max_read_depth=depth))

    assert await legacy(5).check(access, max_depth=2) is False
    assert await legacy(5).check(access, max_depth=3) is True
    assert await legacy(2).check(access, max_depth=2) is False
    assert await legacy(3).check(access) is True
    assert await legacy(5).check(t("test:object#admin@user"), max_depth=1) is False  # a direct tuple needs 2
    assert await legacy(5).check(t("test:object#admin@user"), max_depth=2) is True


async def test_a_parent_relation_alone_grants_nothing(store: Store) -> None:
    """Keto's "rejects transitive relation": without a rewrite, access to a directory is not access to its files."""
    await write(store, "test:file#parent@test:directory", "test:directory#access@user")
    engine = CheckEngine(store, lambda: LEGACY, Limit())
    assert await engine.check(t("test:file#access@user")) is False


async def test_strict_mode_ignores_tuples_the_model_does_not_allow(store: Store) -> None:
    """Keto's `namespaces.experimental_strict_mode`: a permission has no tuples of its own and a relation typed
    `User[]` has no subject sets, even where such tuples were stored (written before the model changed)."""
    await write(store, "File:memo#view@ada",  # a tuple in a permission
                "Folder:root#owners@Group:devs#members", "Group:devs#members@bob")  # owners is User[] only
    lenient, strict = (CheckEngine(store, lambda: NAMESPACES, Limit(max_read_depth=12), strict=mode)
                       for mode in (False, True))
    assert await lenient.check(t("File:memo#view@ada"))
    assert not await strict.check(t("File:memo#view@ada"))
    assert await lenient.check(t("Folder:root#edit@bob"))
    assert not await strict.check(t("Folder:root#edit@bob"))
    await write(store, *MODEL)
    for question, allowed in [("File:plan#view@ada", True), ("File:plan#view@eve", False),
                              ("File:memo#edit@carl", True)]:
        assert await strict.check(t(question)) is allowed, question  # what the model allows still holds


@pytest.mark.parametrize("strict", [False, True])
async def test_the_check_endpoint_follows_namespaces_experimental_strict_mode(
        make_config: Callable[..., Config], store: Store, strict: bool) -> None:
    await write(store, "File:memo#view@ada")
    config = make_config({"namespaces": {"location": f"file://{OPL}", "experimental_strict_mode": strict}})
    async with running_gatekeeper(config) as gk, httpx.AsyncClient() as client:
        r = await client.get(f"{gk.api}/relation-tuples/check/openapi", params={
            "namespace": "File", "object": "memo", "relation": "view", "subject_id": "ada"})
    assert r.status_code == 200, r.text
    assert r.json() == {"allowed": not strict}
