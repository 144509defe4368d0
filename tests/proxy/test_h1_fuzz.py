"""Differential fuzzing of the upstream response parser: generated and mutated response byte streams go to the
h1 client's connection (`_Connection`, fed through a transport stand-in, in the segments a network might cut) and
to h11 as a client. Whatever h1 accepts, h11 must accept with the same framing: status, header list, body bytes.
h1 may refuse more (llhttp is stricter: duplicate identical Content-Length, for one).

Bounded for the normal run (derandomized, a few hundred examples, seconds); `FUZZ_EXAMPLES=20000` runs longer."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Sequence

import h11
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gatekeeper.proxy.h1 import _Connection

Framing = tuple[int, list[tuple[bytes, bytes]], bytes]

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))


class _Transport(asyncio.Transport):
    """What `_Connection` calls on its transport; the bytes come from the test, not a socket."""

    def __init__(self) -> None:
        super().__init__()
        self.closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        pass

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def h1_framing(segments: list[bytes], *, head: bool) -> Framing | None:
    """The response as the proxy would relay it, or None when h1 refuses it (or it is incomplete)."""
    conn = _Connection()
    conn.connection_made(_Transport())
    conn.begin(no_body=head)
    for segment in segments:
        conn.data_received(segment)
    conn.connection_lost(None)  # the upstream closed after sending all it had
    if conn.error is not None or not conn.status or not conn.complete:
        return None
    return conn.status, _comparable(conn.headers), b"".join(conn.chunks)


def h11_framing(data: bytes, *, head: bool) -> Framing | None:
    client = h11.Connection(h11.CLIENT)
    client.send(h11.Request(method="HEAD" if head else "GET", target="/", headers=[("Host", "upstream")]))
    client.send(h11.EndOfMessage())
    client.receive_data(data)
    client.receive_data(b"")
    status, headers, body = 0, [], b""
    try:
        while True:
            event = client.next_event()
            if isinstance(event, h11.Response):
                status, headers = event.status_code, _comparable(event.headers)
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                return status, headers, body
            elif not isinstance(event, h11.InformationalResponse):
                return None  # NEED_DATA after the end of input, or the connection closed: incomplete
    except h11.RemoteProtocolError:
        return None


def _comparable(headers: Sequence[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Names in lower case; Transfer-Encoding's value too (h11 lower-cases it; hop-by-hop, never relayed)."""
    return [(k.lower(), v.lower() if k.lower() == b"transfer-encoding" else v) for k, v in headers]


# --- what upstreams send ------------------------------------------------------------------------------------

TOKENS = st.sampled_from([b"x-a", b"X-Custom", b"Set-Cookie", b"Content-Type", b"Etag", b"Vary", b"x_under",
                          b"Content-Length", b"Transfer-Encoding", b"Connection", b"Trailer", b"Upgrade"])
VALUES = st.one_of(
    st.sampled_from([b"", b"v", b"a, b", b" padded ", b"\tt", b"chunked", b"Chunked", b"gzip", b"gzip, chunked",
                     b"chunked, gzip", b"identity", b"close", b"keep-alive", b"0", b"5", b"05", b"+5", b"-1",
                     b"5, 5", b"5,6", b"0x5", b"99999999999999999999", b"\xe9t\xe9", b"a\x00b", b"a\rb"]),
    st.binary(max_size=8),
)


@st.composite
def bodies(draw: st.DrawFn) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """Framing headers and the encoded body: by Content-Length, chunked (with extensions, trailers), or raw."""
    payload = draw(st.binary(max_size=40))
    kind = draw(st.sampled_from(["length", "chunked", "raw", "none"]))
    if kind == "length":
        return [(b"Content-Length", b"%d" % len(payload))], payload
    if kind == "chunked":
        cuts = sorted(draw(st.lists(st.integers(0, len(payload)), max_size=3)))
        pieces = [payload[a:b] for a, b in zip([0, *cuts], [*cuts, len(payload)], strict=True) if b > a]
        out = b""
        for piece in pieces:
            size = draw(st.sampled_from([b"%x", b"%X", b"0%x"])) % len(piece)
            ext = draw(st.sampled_from([b"", b";ext=1", b" ;x", b";q=\"a\""]))
            out += size + ext + b"\r\n" + piece + b"\r\n"
        out += b"0\r\n" + draw(st.sampled_from([b"", b"X-Trailer: t\r\n", b"Content-Length: 9\r\n"])) + b"\r\n"
        return [(b"Transfer-Encoding", b"chunked")], out
    if kind == "raw":
        return [], payload
    return [], b""


@st.composite
def responses(draw: st.DrawFn) -> bytes:
    version = draw(st.sampled_from([b"HTTP/1.1", b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"http/1.1", b"HTTP/1.10"]))
    status = draw(st.one_of(st.sampled_from([b"200", b"204", b"304", b"404", b"100", b"103", b"101", b"099", b"999"]),
                            st.integers(0, 1000).map(lambda n: b"%d" % n)))
    reason = draw(st.sampled_from([b" OK", b" ", b"", b" Reason With Spaces", b" \xe9", b" a\tb"]))
    framing, body = draw(bodies())
    extra = draw(st.lists(st.tuples(TOKENS, VALUES), max_size=4))
    headers = draw(st.permutations(framing + extra))
    separator = draw(st.sampled_from([b": ", b":", b" : ", b":\t"]))
    eol = draw(st.sampled_from([b"\r\n"] * 6 + [b"\n"]))
    lines = [version + b" " + status + reason] + [k + separator + v for k, v in headers]
    interim = draw(st.sampled_from([b"", b"", b"HTTP/1.1 100 Continue\r\n\r\n",
                                    b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"]))
    return interim + eol.join(lines) + eol + eol + body + draw(st.sampled_from([b"", b"", b"HTTP/1.1 200 OK\r\n\r\n"]))


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(responses()))
    for _ in range(draw(st.integers(0, 2))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "insert", "delete"]))
        if action == "flip":
            data[at] = draw(st.integers(0, 255))
        elif action == "insert":
            data[at:at] = draw(st.sampled_from([b"\r\n", b"\n", b" ", b"\t", b":", b"\x00", b"0", b"\r"]))
        else:
            del data[at]
    return bytes(data)


PLAIN_REASONS = re.compile(rb"(?m)^(HTTP/1\.[01] [0-9]{3})[^\r\n]*")
EMPTY_LINES = re.compile(rb"(\n\r?\n)(?:\r?\n)+(?=HTTP/1\.[01] )")


def tolerated(data: bytes) -> bytes:
    """`data` without what h1 accepts and h11 refuses, knowingly; none of it changes the framing:
    - control bytes (NUL, ...) in a reason phrase: llhttp allows them, h11 does not; the reason phrase is never
      relayed (the ASGI server writes its own);
    - empty lines before a status line (the first, or the final one after a 1xx): llhttp skips them, as RFC 9112
      §2.2 has servers do before a request line."""
    return PLAIN_REASONS.sub(rb"\1 Reason", EMPTY_LINES.sub(rb"\1", data.lstrip(b"\r\n")))


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True) if b > a]


@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.one_of(responses(), mutated()), cuts=st.lists(st.integers(0, 10_000), max_size=4),
       head=st.booleans())
@example(data=b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n", cuts=[20],
         head=False)
@example(data=b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", cuts=[], head=True)
# what it found: trailing whitespace kept in values; a 104 whose Content-Length made llhttp read the final
# response's first bytes as the interim one's body; a HEAD answer with a Transfer-Encoding no GET could have
@example(data=b"HTTP/1.1 200 OK\r\nx-a:  padded \r\nContent-Length: 0\r\n\r\n", cuts=[], head=False)
@example(data=b"HTTP/1.1 104 OK\r\nContent-Length: 1\r\n\r\n\x00HTTP/1.1 200 OK\r\n\r\n", cuts=[], head=False)
@example(data=b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: v\r\n\r\n0\r\n\r\n", cuts=[],
         head=True)
def test_h1_accepts_only_what_h11_frames_the_same_way(data: bytes, cuts: list[int], head: bool) -> None:
    ours = h1_framing(split(data, cuts), head=head)
    if ours is None:
        return  # h1 refused (or saw an incomplete message): never relayed
    theirs = h11_framing(data, head=head)
    if theirs is None:
        theirs = h11_framing(tolerated(data), head=head)
    assert theirs is not None, f"h1 accepted what h11 refuses: {data!r} head={head}"
    assert ours == theirs, data
