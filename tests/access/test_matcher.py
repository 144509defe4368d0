"""URL patterns as Oathkeeper: `<>` blocks, regexp captures, glob separators, anchoring, overlap proofs."""

from __future__ import annotations

import pytest

from gatekeeper.access.matcher import PatternError, captures, compile_match, compile_pattern, overlap


@pytest.mark.parametrize(("pattern", "url", "matches"), [
    pytest.param("https://h/api/<.*>", "https://h/api/a/b", True, id="regexp block spans slashes"),
    pytest.param("https://h/api/<.*>", "https://h/apix/a", False, id="literal part is literal"),
    pytest.param("https://h/<[0-9]+>", "https://h/12", True, id="regexp class"),
    pytest.param("https://h/<[0-9]+>", "https://h/12/x", False, id="anchored at the end"),
    pytest.param("https://h.x/a", "https://hzx/a", False, id="dot outside a block is literal"),
    pytest.param("https://h/<(?!admin).*>", "https://h/admin", False, id="negative look-ahead"),
    pytest.param("https://h/<(?!admin).*>", "https://h/public", True, id="look-ahead passes others"),
    pytest.param("https://h/<a<b>c>", "https://h/a<b>c", True, id="nested delimiters count as one block"),
])
def test_regexp_strategy(pattern: str, url: str, matches: bool) -> None:
    assert bool(compile_pattern(pattern, "regexp").match(url)) is matches


@pytest.mark.parametrize(("pattern", "url", "matches"), [
    pytest.param("https://h/api/<*>", "https://h/api/users", True, id="star within a segment"),
    pytest.param("https://h/api/<*>", "https://h/api/users/1", False, id="star stops at /"),
    pytest.param("https://h/api/<**>", "https://h/api/users/1", True, id="double star crosses /"),
    pytest.param("https://<*>.example.com/", "https://a.b.example.com/", False, id="star stops at ."),
    pytest.param("https://h/<?>", "https://h/a", True, id="question mark is one char"),
    pytest.param("https://h/<{a,b}>/x", "https://h/b/x", True, id="alternatives"),
    pytest.param("https://h/<[!a]>", "https://h/a", False, id="negated class"),
    pytest.param("https://h/*", "https://h/x", False, id="star outside a block is literal"),
])
def test_glob_strategy(pattern: str, url: str, matches: bool) -> None:
    assert bool(compile_pattern(pattern, "glob").match(url)) is matches


def test_every_regexp_block_is_a_capture_group() -> None:
    m = compile_pattern("https://h/<(a|b)>/<[0-9]+>", "regexp").match("https://h/a/7")
    assert m is not None and captures(m) == ("a", "a", "7")


@pytest.mark.parametrize("bad", ["https://h/<.*", "https://h/<(>"])
def test_broken_patterns_are_load_errors(bad: str) -> None:
    with pytest.raises(PatternError):
        compile_pattern(bad, "regexp")


def test_methods_are_case_insensitive() -> None:
    assert compile_match("https://h/", ["get", "Custom"], "regexp").methods == {"GET", "CUSTOM"}


@pytest.mark.parametrize(("a", "b", "strategy", "overlaps"), [
    pytest.param("https://h/<.*>", "https://h/admin", "regexp", True, id="literal inside a wildcard"),
    pytest.param("https://h/api/<.*>", "https://h/api/<.*>", "regexp", True, id="identical patterns"),
    pytest.param("https://h/api/<**>", "https://h/api/users/<*>", "glob", True, id="glob witnesses"),
    pytest.param("https://h/api/<.*>", "https://h/web/<.*>", "regexp", False, id="disjoint prefixes"),
    pytest.param("https://h/<[0-9]+>", "https://h/<[a-z]+>", "regexp", False, id="disjoint classes"),
])
def test_overlaps_are_proven_with_an_example(a: str, b: str, strategy: str, overlaps: bool) -> None:
    pa, pb = compile_match(a, ["GET"], strategy), compile_match(b, ["GET"], strategy)  # type: ignore[arg-type]
    example = overlap(pa, pb)
    assert (example is not None) is overlaps
    if example:
        assert pa.regex.match(example) and pb.regex.match(example)


def test_no_overlap_without_a_shared_method() -> None:
    assert overlap(compile_match("https://h/<.*>", ["GET"], "regexp"),
                   compile_match("https://h/x", ["POST"], "regexp")) is None
