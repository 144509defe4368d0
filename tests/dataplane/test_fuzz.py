"""Property tests on a real listener: random and mutated byte streams never get a 5xx, never crash or hang the
server, which keeps serving; and request framing agrees with h11's (or ours refuses).

Bounded to run in seconds; `FUZZ_EXAMPLES=5000 pytest tests/dataplane/test_fuzz.py` runs them longer."""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
from collections.abc import Iterator

import h11
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatekeeper.dataplane import Request, Responder
from tests.dataplane.support import TIMEOUT, server_thread

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
STATUS = re.compile(rb"HTTP/1\.1 (\d{3}) ")


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


async def summary(request: Request, responder: Responder) -> None:
    """What the server understood of a request, in hashes (nothing the client sent is echoed)."""
    body = await request.read_body()
    answer = [request.method.decode(), digest(request.target), digest(body)]
    responder.respond(200, [(b"content-type", b"application/json")], json.dumps(answer).encode())


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with server_thread(summary) as port:
        yield port


def talk(port: int, parts: list[bytes]) -> bytes:
    """Send `parts` (one write each), half-close, and read until the server closes; fails on a hang."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        try:
            for part in parts:
                sock.sendall(part)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server refused and closed already
        received = []
        while True:
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            received.append(data)
    return b"".join(received)


def responses(data: bytes) -> list[tuple[int, bytes]]:
    """(status, body) of each whole response in `data`, parsed by h11."""
    conn = h11.Connection(h11.CLIENT)
    conn.receive_data(data)
    conn.receive_data(b"")
    out: list[tuple[int, bytes]] = []
    while True:
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
        if conn.our_state is not h11.IDLE:
            return out
        conn.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
        conn.send(h11.EndOfMessage())
        status, body = 0, b""
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError:
                return out
            if isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                out.append((status, body))
                break
            elif event is h11.NEED_DATA or isinstance(event, h11.ConnectionClosed):
                return out


def still_serving(port: int) -> None:
    answer = responses(talk(port, [b"GET /ok HTTP/1.1\r\nHost: a\r\n\r\n"]))
    assert [status for status, _ in answer] == [200]


# generated requests

BENIGN = st.tuples(st.sampled_from([b"X-A", b"Accept", b"Cookie", b"User-Agent", b"X-Forwarded-For"]),
                   st.sampled_from([b"1", b"a b", b"*/*", b"x\tz", b"k=v; l=w", b""]))
FRAMING = st.tuples(st.sampled_from([b"Expect", b"Connection", b"Upgrade", b"Content-Length", b"Transfer-Encoding",
                                     b"Host"]),
                    st.one_of(st.sampled_from([b"1", b"chunked", b"close", b"keep-alive", b"100-continue", b" 5", b"0",
                                               b"gzip, chunked", b"websocket", b"upgrade", b"a"]),
                              st.binary(max_size=8).map(lambda b: bytes(c for c in b if c > 31 and c != 127))))
TARGETS = st.one_of(st.sampled_from([b"/", b"/a?b=c", b"/%41", b"//x", b"/x/y.z?q&r=%20"]),
                    st.sampled_from([b"*", b"http://a/x", b"/a#b", b"/%zz"]),
                    st.binary(min_size=1, max_size=16).map(lambda b: b"/" + bytes(c for c in b if 32 < c < 127)))


@st.composite
def chunked(draw: st.DrawFn, body: bytes) -> bytes:
    out, rest = [], body
    while rest:
        size = draw(st.integers(1, max(1, len(rest))))
        ext = draw(st.sampled_from([b"", b"", b";a=b", b';q="x"']))
        out.append(b"%x%s\r\n%s\r\n" % (size, ext, rest[:size]))
        rest = rest[size:]
    trailer = draw(st.sampled_from([b"", b"", b"X-T: 1\r\n"]))
    return b"".join(out) + b"0\r\n" + trailer + b"\r\n"


@st.composite
def request(draw: st.DrawFn) -> bytes:
    method = draw(st.sampled_from([b"GET", b"POST", b"PUT", b"DELETE", b"OPTIONS", b"PATCH"]))
    version = draw(st.sampled_from([b"HTTP/1.1", b"HTTP/1.1", b"HTTP/1.1", b"HTTP/1.0"]))
    headers = [(b"Host", b"a")] if version == b"HTTP/1.1" and draw(st.integers(0, 19)) else []
    headers += draw(st.lists(BENIGN, max_size=3))
    headers += draw(st.lists(FRAMING, max_size=1 if draw(st.integers(0, 3)) else 3))
    body = draw(st.binary(max_size=200))
    framing = draw(st.sampled_from(["length", "length", "chunked", "chunked", "none"]))
    if framing == "length":
        headers.append((b"Content-Length", b"%d" % len(body)))
        payload = body
    elif framing == "chunked":
        headers.append((b"Transfer-Encoding", b"chunked"))
        payload = draw(chunked(body))
    else:
        payload = b""
    head = b"%s %s %s\r\n" % (method, draw(TARGETS), version)
    return head + b"".join(n + b": " + v + b"\r\n" for n, v in draw(st.permutations(headers))) + b"\r\n" + payload


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(out)))
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        byte = draw(st.sampled_from([b"\r", b"\n", b" ", b"\t", b"\x00", b":", b"0", b"a", b"\xff", b",", b";"]))
        if op == "insert":
            out[at:at] = byte
        elif op == "delete":
            del out[at:at + 1]
        else:
            out[at:at + 1] = byte
    return bytes(out)


@st.composite
def stream(draw: st.DrawFn) -> tuple[bytes, list[bytes]]:
    """A few requests back to back, maybe mutated, and how they are cut into writes."""
    data = b"".join(draw(st.lists(request(), min_size=1, max_size=3)))
    if draw(st.booleans()):
        data = draw(mutated(data))
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=3)))
    parts = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    return data, [p for p in parts if p]


# properties

@FUZZ
@given(st.one_of(st.binary(max_size=300), stream().map(lambda s: s[0])))
def test_random_bytes_get_no_5xx_and_the_listener_keeps_serving(port: int, data: bytes) -> None:
    received = talk(port, [data])
    statuses = [int(s) for s in STATUS.findall(received)]
    assert all(status < 500 for status in statuses), received
    still_serving(port)


def h11_framing(data: bytes) -> list[list[str]]:
    """What h11, as a server, makes of `data`: [method, target digest, body digest, "upgrade" or ""] of each whole
    request.

    Where we go on and h11 does not, h11 starts again on the rest of the stream; none of these moves a boundary
    between messages:
    - CR and LF bytes before a request-line are skipped by llhttp (RFC 9112 2.2 asks a server to ignore empty
      lines there);
    - runs of SP between the parts of a request-line count as one SP for llhttp (RFC 9112 3 allows parsing on
      whitespace boundaries; the parts themselves cannot hold a SP, so there is no other way to read them);
    - an HTTP/1.0 request with `Connection: keep-alive` keeps the connection open (RFC 9112 9.3, appendix C.2.2);
      h11 closes after any HTTP/1.0 request."""
    out: list[list[str]] = []
    while True:
        conn = h11.Connection(h11.SERVER)
        conn.receive_data(data)
        conn.receive_data(b"")
        method, target, body = b"", b"", b""
        keep_alive_10 = upgrade = False
        while True:
            rest = conn.trailing_data[0] if conn.their_state is h11.IDLE else b""
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError:
                line, crlf, after = rest.partition(b"\r\n")
                if rest[:1] in (b"\r", b"\n") and rest.lstrip(b"\r\n"):
                    data = rest.lstrip(b"\r\n")
                    break
                if b"  " in line and crlf:
                    data = re.sub(rb" {2,}", b" ", line) + crlf + after
                    break
                return out
            if isinstance(event, h11.Request):
                method, target, body = event.method, event.target, b""
                tokens = {t.strip() for n, v in event.headers if n == b"connection" for t in v.lower().split(b",")}
                keep_alive_10 = event.http_version == b"1.0" and b"keep-alive" in tokens and b"close" not in tokens
                upgrade = b"upgrade" in tokens and any(n == b"upgrade" for n, _ in event.headers)
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                out.append([method.decode(), digest(target), digest(body), "upgrade" if upgrade else ""])
                conn.send(h11.Response(status_code=200, headers=[("Content-Length", "0")]))
                conn.send(h11.EndOfMessage())
                if keep_alive_10 and conn.their_state is h11.MUST_CLOSE:
                    data = conn.trailing_data[0]
                    break
                if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    return out
                conn.start_next_cycle()
            else:
                return out


@FUZZ
@given(stream())
def test_framing_agrees_with_h11_or_is_refused(port: int, generated: tuple[bytes, list[bytes]]) -> None:
    data, parts = generated
    answers = responses(talk(port, parts))
    ours = [json.loads(body) for status, body in answers if status == 200]
    refused = any(status != 200 for status, _ in answers)
    theirs = h11_framing(data)
    # Every request we answered is one h11 sees, with the same method, target and body, in the same order.
    assert ours == [request[:3] for request in theirs[:len(ours)]], (data, answers)
    # Where h11 sees more, we stopped with a refusal (never silently), or after an Upgrade request we did not
    # switch for: what follows it may be meant for the new protocol, and reading it as HTTP is how a declined
    # upgrade smuggles requests past a proxy that took it for a tunnel, so the connection closes instead.
    if len(ours) < len(theirs):
        assert refused or (ours and theirs[len(ours) - 1][3] == "upgrade"), (data, answers)
