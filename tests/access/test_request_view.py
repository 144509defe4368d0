"""The normalisation corpus: one clean path for matching and forwarding; ambiguity is a 400."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from gatekeeper.access.request_view import (
    Network,
    RequestView,
    check_host,
    clean_path,
    decisions_view,
    parse_networks,
    proxy_view,
)
from gatekeeper.errors import BadRequest, InvalidRequestPath

CLEAN = [
    (b"/", "/"),
    (b"/a/b", "/a/b"),
    (b"//admin", "/admin"),
    (b"/admin/", "/admin"),
    (b"/public/../admin", "/admin"),
    (b"/public/%2e%2e/admin", "/admin"),
    (b"/public/%2E%2E/admin", "/admin"),
    (b"/./a/./b/.", "/a/b"),
    (b"/../../etc/passwd", "/etc/passwd"),
    (b"/a%20b", "/a b"),
    (b"/caf%C3%A9", "/café"),
    (b"/a;b=c", "/a;b=c"),
]

REJECTED = [
    b"/public%2F..%2Fadmin",
    b"/public%2f..%2fadmin",
    b"/a%5C..%5Cadmin",
    b"/a\\..\\admin",
    b"/a%00b",
    b"/a%0ab",
    b"/a%7Fb",
    b"/a%ff",
    b"/a%C3",
    b"/a%2",
    b"/a%zz",
    b"/a%252F",
    b"relative",
    b"/public/..;/admin",
    b"/public/.;x/admin",
]


@pytest.mark.parametrize(("raw", "clean"), CLEAN, ids=[c[0].decode() for c in CLEAN])
def test_paths_are_decoded_and_cleaned_once(raw: bytes, clean: str) -> None:
    assert clean_path(raw) == clean


@pytest.mark.parametrize("raw", REJECTED, ids=[r.decode("latin-1") for r in REJECTED])
def test_ambiguous_paths_are_rejected(raw: bytes) -> None:
    with pytest.raises(InvalidRequestPath) as info:
        clean_path(raw)
    assert info.value.status == 400


@pytest.mark.parametrize("host", ["", "a b", "user@host", "host:port", "exa mple.com", "a..b", "h\x00"])
def test_ambiguous_hosts_are_rejected(host: str) -> None:
    with pytest.raises(BadRequest):
        check_host(host)


def _proxied(headers: list[tuple[bytes, bytes]], trusted: Sequence[Network], client: str = "10.0.0.5"
             ) -> tuple[RequestView, bool]:
    return proxy_view("GET", "http", b"/x", b"a=1", headers, client, trusted)


def _decision(headers: list[tuple[bytes, bytes]]) -> RequestView:
    return decisions_view("GET", "http", b"/x", b"a=1", headers, "10.0.0.5")


def test_forwarded_headers_are_ignored_from_untrusted_clients() -> None:
    view, trusted = _proxied([(b"host", b"app"), (b"x-forwarded-proto", b"https"), (b"x-forwarded-for", b"1.2.3.4")],
                             parse_networks(["192.168.0.0/16"]))
    assert not trusted
    assert view.scheme == "http" and view.client_ip == "10.0.0.5"
    assert "x-forwarded-for" not in view.headers


def test_forwarded_headers_are_honoured_from_trusted_proxies() -> None:
    view, trusted = _proxied([(b"host", b"app"), (b"x-forwarded-proto", b"https"),
                              (b"x-forwarded-for", b"1.2.3.4, 10.0.0.9")], parse_networks(["10.0.0.0/8"]))
    assert trusted and view.scheme == "https" and view.client_ip == "1.2.3.4"


def test_two_different_host_headers_are_ambiguous() -> None:
    with pytest.raises(BadRequest):
        _proxied([(b"host", b"a"), (b"host", b"b")], ())


def test_decisions_view_decodes_and_cleans_x_forwarded_uri_like_the_proxy() -> None:
    view = _decision([(b"host", b"gk"), (b"x-forwarded-host", b"app"),
                      (b"x-forwarded-uri", b"/public/%2e%2e/admin?x=1"), (b"x-forwarded-method", b"post"),
                      (b"x-forwarded-proto", b"https")])
    assert (view.method, view.scheme, view.host, view.path, view.query) == ("POST", "https", "app", "/admin", "x=1")
    with pytest.raises(InvalidRequestPath):
        _decision([(b"host", b"gk"), (b"x-forwarded-uri", b"/a%2Fb")])
