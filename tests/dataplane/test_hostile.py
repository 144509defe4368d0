"""Hostile and ambiguous requests on a raw socket (RFC 9112 section 6 and friends): each is refused with its
status and the connection closed, so nothing can be smuggled past the server; the listener keeps serving.

`by` says who refuses: "llhttp" (httptools by itself; `test_who_refuses` checks it with a bare parser),
"checks" (llhttp lets it through: `gatekeeper.dataplane.checks` refuses it) or "limits" (`Limits`)."""

from __future__ import annotations

import httptools
import pytest

from tests.dataplane.support import echo, exchange, running

H = b"Host: a\r\n"
GET = b"GET / HTTP/1.1\r\n" + H
POST = b"POST / HTTP/1.1\r\n" + H
CHUNKED = POST + b"Transfer-Encoding: chunked\r\n\r\n"

REFUSED = [
    # framing: Content-Length and Transfer-Encoding
    ("cl-and-te", POST + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "llhttp"),
    ("te-and-cl", POST + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400, "llhttp"),
    ("cl-plus", POST + b"Content-Length: +5\r\n\r\nhello", 400, "llhttp"),
    ("cl-list", POST + b"Content-Length: 5,5\r\n\r\nhello", 400, "llhttp"),
    ("cl-list-spaced", POST + b"Content-Length: 5, 5\r\n\r\nhello", 400, "llhttp"),
    ("cl-twice-same", POST + b"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400, "llhttp"),
    ("cl-twice-different", POST + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400, "llhttp"),
    ("cl-negative", POST + b"Content-Length: -1\r\n\r\n", 400, "llhttp"),
    ("cl-hex", POST + b"Content-Length: 0x5\r\n\r\nhello", 400, "llhttp"),
    ("cl-empty", POST + b"Content-Length: \r\n\r\n", 400, "llhttp"),
    ("cl-overflow", POST + b"Content-Length: 99999999999999999999999\r\n\r\n", 400, "llhttp"),
    ("cl-beyond-int64", POST + b"Content-Length: 18446744073709551615\r\n\r\n", 400, "checks"),
    ("te-gzip", POST + b"Transfer-Encoding: gzip\r\n\r\n", 400, "llhttp"),
    ("te-identity", POST + b"Transfer-Encoding: identity\r\n\r\n", 400, "llhttp"),
    ("te-unknown", POST + b"Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 400, "llhttp"),
    ("te-chunked-gzip", POST + b"Transfer-Encoding: chunked, gzip\r\n\r\n", 400, "llhttp"),
    ("te-chunked-chunked", POST + b"Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400, "llhttp"),
    ("te-chunked-twice", POST + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
     "llhttp"),
    ("te-gzip-chunked", POST + b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 400, "checks"),
    ("te-http10", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "checks"),
    # header syntax
    ("obs-fold-space", GET + b"X-A: b\r\n c\r\n\r\n", 400, "llhttp"),
    ("obs-fold-tab", GET + b"X-A: b\r\n\tc\r\n\r\n", 400, "llhttp"),
    ("obs-fold-first-line", b"GET / HTTP/1.1\r\n X: y\r\n" + H + b"\r\n", 400, "llhttp"),
    ("bare-lf-everywhere", b"GET / HTTP/1.1\nHost: a\n\n", 400, "llhttp"),
    ("bare-lf-after-header", b"GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n", 400, "llhttp"),
    ("bare-lf-end-of-head", b"GET / HTTP/1.1\r\nHost: a\r\n\n", 400, "llhttp"),
    ("bare-cr", b"GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n", 400, "llhttp"),
    ("nul-in-value", GET + b"X: a\x00b\r\n\r\n", 400, "llhttp"),
    ("ctl-in-value", GET + b"X: a\x01b\r\n\r\n", 400, "llhttp"),
    ("del-in-value", GET + b"X: a\x7fb\r\n\r\n", 400, "llhttp"),
    ("nul-in-name", GET + b"X\x00: ab\r\n\r\n", 400, "llhttp"),
    ("space-before-colon", GET + b"X : ab\r\n\r\n", 400, "llhttp"),
    ("tab-before-colon", GET + b"X\t: ab\r\n\r\n", 400, "llhttp"),
    ("cl-space-before-colon", POST + b"Content-Length : 5\r\n\r\nhello", 400, "llhttp"),
    ("empty-name", GET + b": ab\r\n\r\n", 400, "llhttp"),
    ("name-not-token", GET + b"X@Y: ab\r\n\r\n", 400, "llhttp"),
    # chunked bodies
    ("chunk-size-not-hex", CHUNKED + b"zz\r\nhello\r\n0\r\n\r\n", 400, "llhttp"),
    ("chunk-size-overflow", CHUNKED + b"FFFFFFFFFFFFFFFFF\r\nhello\r\n0\r\n\r\n", 400, "llhttp"),
    ("chunk-size-0x", CHUNKED + b"0x5\r\nhello\r\n0\r\n\r\n", 400, "llhttp"),
    ("chunk-size-space", CHUNKED + b"5 \r\nhello\r\n0\r\n\r\n", 400, "llhttp"),
    ("chunk-size-negative", CHUNKED + b"-5\r\nhello\r\n0\r\n\r\n", 400, "llhttp"),
    ("chunk-ext-nul", CHUNKED + b"5;a\x00\r\nhello\r\n0\r\n\r\n", 400, "llhttp"),
    ("chunk-ext-bare-lf", CHUNKED + b"5;a\nb\r\nhello\r\n0\r\n\r\n", 400, "llhttp"),
    ("chunk-data-no-crlf", CHUNKED + b"5\r\nhelloX0\r\n\r\n", 400, "llhttp"),
    ("chunk-data-bare-lf", CHUNKED + b"5\r\nhello\n0\r\n\r\n", 400, "llhttp"),
    ("chunk-size-bare-lf", CHUNKED + b"5\nhello\n0\n\n", 400, "llhttp"),
    ("chunk-data-longer", CHUNKED + b"3\r\nhello\r\n0\r\n\r\n", 400, "llhttp"),
    # request-target
    ("target-space", b"GET /a b HTTP/1.1\r\n" + H + b"\r\n", 400, "llhttp"),
    ("target-ctl", b"GET /a\x01b HTTP/1.1\r\n" + H + b"\r\n", 400, "llhttp"),
    ("target-tab", b"GET /a\tb HTTP/1.1\r\n" + H + b"\r\n", 400, "llhttp"),
    ("target-del", b"GET /a\x7fb HTTP/1.1\r\n" + H + b"\r\n", 400, "llhttp"),
    ("target-0x80", b"GET /a\x80b HTTP/1.1\r\n" + H + b"\r\n", 400, "llhttp"),
    ("target-0xff", b"GET /\xff HTTP/1.1\r\n" + H + b"\r\n", 400, "llhttp"),
    ("target-no-slash", b"GET a HTTP/1.1\r\n" + H + b"\r\n", 400, "llhttp"),
    ("target-authority-form", b"GET a:80 HTTP/1.1\r\n" + H + b"\r\n", 400, "llhttp"),
    ("target-fragment", b"GET /a#b HTTP/1.1\r\n" + H + b"\r\n", 400, "checks"),
    ("target-quote", b'GET /a"b HTTP/1.1\r\n' + H + b"\r\n", 400, "checks"),
    ("target-angle", b"GET /a<b> HTTP/1.1\r\n" + H + b"\r\n", 400, "checks"),
    ("target-backslash", b"GET /a\\..\\b HTTP/1.1\r\n" + H + b"\r\n", 400, "checks"),
    ("target-bad-percent", b"GET /a%zz HTTP/1.1\r\n" + H + b"\r\n", 400, "checks"),
    ("target-short-percent", b"GET /a%2 HTTP/1.1\r\n" + H + b"\r\n", 400, "checks"),
    ("target-asterisk-get", b"GET * HTTP/1.1\r\n" + H + b"\r\n", 400, "checks"),
    ("target-absolute-other-host", b"GET http://b/x HTTP/1.1\r\n" + H + b"\r\n", 400, "checks"),
    ("target-absolute-userinfo", b"GET http://u@a/x HTTP/1.1\r\n" + H + b"\r\n", 400, "checks"),
    ("target-absolute-ftp", b"GET ftp://a/x HTTP/1.1\r\n" + H + b"\r\n", 400, "checks"),
    # methods and versions
    ("method-lower-case", b"get / HTTP/1.1\r\n" + H + b"\r\n", 400, "llhttp"),
    ("method-unknown", b"FOO / HTTP/1.1\r\n" + H + b"\r\n", 400, "llhttp"),
    ("method-not-token", b"G@T / HTTP/1.1\r\n" + H + b"\r\n", 400, "llhttp"),
    ("method-leading-space", b" GET / HTTP/1.1\r\n" + H + b"\r\n", 400, "llhttp"),
    ("method-rtsp-on-http", b"DESCRIBE / HTTP/1.1\r\n" + H + b"\r\n", 400, "llhttp"),
    ("method-connect", b"CONNECT a:80 HTTP/1.1\r\n" + H + b"\r\n", 405, "checks"),
    ("http2-preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400, "llhttp"),
    ("version-1.2", b"GET / HTTP/1.2\r\n" + H + b"\r\n", 400, "llhttp"),
    ("version-3.0", b"GET / HTTP/3.0\r\n" + H + b"\r\n", 400, "llhttp"),
    ("version-1.10", b"GET / HTTP/1.10\r\n" + H + b"\r\n", 400, "llhttp"),
    ("version-lower-case", b"GET / http/1.1\r\n" + H + b"\r\n", 400, "llhttp"),
    ("version-trailing-space", b"GET / HTTP/1.1 \r\n" + H + b"\r\n", 400, "llhttp"),
    ("version-2.0", b"GET / HTTP/2.0\r\n" + H + b"\r\n", 400, "checks"),
    ("version-0.9", b"GET / HTTP/0.9\r\n" + H + b"\r\n", 400, "checks"),
    ("version-missing", b"GET /\r\n\r\n", 400, "checks"),
    # Host
    ("host-missing", b"GET / HTTP/1.1\r\n\r\n", 400, "checks"),
    ("host-twice", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "checks"),
    ("host-twice-same", b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400, "checks"),
    ("host-twice-http10", b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400, "checks"),
    ("host-with-space", b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, "checks"),
    ("host-with-path", b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, "checks"),
    ("host-with-userinfo", b"GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400, "checks"),
    # upgrade requests with a body: the body would be taken for upgrade bytes
    ("upgrade-with-length", POST + b"Connection: Upgrade\r\nUpgrade: websocket\r\nContent-Length: 3\r\n\r\nabc", 400,
     "checks"),
    ("upgrade-with-chunks", POST + b"Connection: Upgrade\r\nUpgrade: websocket\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"0\r\n\r\n", 400, "checks"),
    # limits
    ("request-line-too-long", b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n" + H + b"\r\n", 414, "limits"),
    ("too-many-headers", GET + b"".join(b"X-%d: v\r\n" % i for i in range(101)) + b"\r\n", 431, "limits"),
    ("header-block-too-large", GET + b"X: " + b"v" * 70_000 + b"\r\n\r\n", 431, "limits"),
]

ACCEPTED = [
    # (id, request, what `echo` answers: method target path query body-length:body)
    ("tab-and-obs-text-in-value", GET + b"X: a\tb\xff\r\n\r\n", b"GET / / - 0:"),
    ("browser-characters-in-target", b"GET /a|b{c}^`[d]?q=|{}^ HTTP/1.1\r\n" + H + b"\r\n",
     b"GET /a|b{c}^`[d]?q=|{}^ /a|b{c}^`[d] q=|{}^ 0:"),
    ("query-split-at-first-question-mark", b"GET /p?a=1?b=2 HTTP/1.1\r\n" + H + b"\r\n",
     b"GET /p?a=1?b=2 /p a=1?b=2 0:"),
    ("percent-encoded-path", b"GET /a%2Fb%20c HTTP/1.1\r\n" + H + b"\r\n", b"GET /a%2Fb%20c /a%2Fb%20c - 0:"),
    ("absolute-form-same-host", b"GET http://A/x?y HTTP/1.1\r\n" + H + b"\r\n", b"GET http://A/x?y /x y 0:"),
    ("absolute-form-no-path", b"GET https://a?y HTTP/1.1\r\n" + H + b"\r\n", b"GET https://a?y / y 0:"),
    ("options-asterisk", b"OPTIONS * HTTP/1.1\r\n" + H + b"\r\n", b"OPTIONS * * - 0:"),
    ("double-slash-path", b"GET //a/b HTTP/1.1\r\n" + H + b"\r\n", b"GET //a/b //a/b - 0:"),
    ("http10-without-host", b"GET / HTTP/1.0\r\n\r\n", b"GET / / - 0:"),
    ("leading-empty-lines", b"\r\n\r\nGET / HTTP/1.1\r\n" + H + b"\r\n", b"GET / / - 0:"),
    ("cl-with-whitespace", POST + b"Content-Length:  5 \r\n\r\nhello", b"POST / / - 5:hello"),
    ("cl-leading-zeros", POST + b"Content-Length: 005\r\n\r\nhello", b"POST / / - 5:hello"),
    ("te-upper-case", POST + b"Transfer-Encoding: CHUNKED\r\n\r\n5\r\nhello\r\n0\r\n\r\n", b"POST / / - 5:hello"),
    ("chunk-extensions", CHUNKED + b"5;a=b;c=\"d\"\r\nhello\r\n0;e\r\n\r\n", b"POST / / - 5:hello"),
    ("chunk-trailers", CHUNKED + b"5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n", b"POST / / - 5:hello"),
    ("chunk-size-upper-hex", CHUNKED + b"A\r\n0123456789\r\n0\r\n\r\n", b"POST / / - 10:0123456789"),
    ("get-with-body", GET + b"Content-Length: 2\r\n\r\nhi", b"GET / / - 2:hi"),
]


@pytest.mark.parametrize(("data", "status"), [c[1:3] for c in REFUSED], ids=[c[0] for c in REFUSED])
async def test_refused_and_closed(data: bytes, status: int) -> None:
    async with running(echo) as (_, port):
        response, closed = await exchange(port, data)
        assert response.status == status, response.body
        assert response.json()["error"]["code"] == status
        assert closed
        good, _ = await exchange(port, GET + b"\r\n", wait_close=0)
        assert good.status == 200


@pytest.mark.parametrize(("data", "answer"), [c[1:] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED])
async def test_accepted(data: bytes, answer: bytes) -> None:
    async with running(echo) as (_, port):
        response, closed = await exchange(port, data, wait_close=0.2)
        assert (response.status, response.body) == (200, answer)
        assert closed == data.startswith(b"GET / HTTP/1.0")


@pytest.mark.xfail(strict=True, reason="llhttp also parses RTSP/1.0 and ICE/1.0 request lines and httptools does not "
                                      "say which protocol was named: such a request is served as HTTP/1.0 (same "
                                      "framing, so nothing can be smuggled)")
@pytest.mark.parametrize("data", [b"GET / RTSP/1.0\r\n" + H + b"\r\n", b"SOURCE / ICE/1.0\r\n" + H + b"\r\n"])
async def test_other_protocol_names_are_refused(data: bytes) -> None:
    async with running(echo) as (_, port):
        response, _ = await exchange(port, data)
        assert response.status == 400


class _Sink:
    def on_header(self, name: bytes, value: bytes) -> None:
        pass


@pytest.mark.parametrize(("data", "by"), [(c[1], c[3]) for c in REFUSED if c[3] != "limits"],
                         ids=[c[0] for c in REFUSED if c[3] != "limits"])
def test_who_refuses(data: bytes, by: str) -> None:
    """llhttp alone refuses the "llhttp" cases and accepts the "checks" ones (which is why those checks exist)."""
    parser = httptools.HttpRequestParser(_Sink())
    try:
        parser.feed_data(data)
    except httptools.HttpParserUpgrade:
        refused = False
    except httptools.HttpParserError:
        refused = True
    else:
        refused = False
    assert refused == (by == "llhttp")
