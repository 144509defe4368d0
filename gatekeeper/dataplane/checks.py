"""Checks on a request head that llhttp (httptools) lets through: each raises `Refusal`, answered with its status.

llhttp already refuses, by itself: Content-Length with Transfer-Encoding, malformed or duplicate Content-Length,
Transfer-Encoding whose last coding is not `chunked`, obs-fold, bare LF or CR, control characters in header names
or values, whitespace before the colon, bad chunk sizes and chunk framing, unknown methods, and request-targets
with spaces, control characters or bytes >= 0x80. What is left for these checks is listed on each function.
"""

from __future__ import annotations

import re

MAX_CONTENT_LENGTH = 2**63 - 1

# RFC 3986 pchar, "/" and "?" (query), plus "[]{}|^`", which browsers send unencoded in paths and queries (the
# WHATWG URL standard leaves them as they are). Refused: "#", '"', "<", ">", "\", SP, controls, bytes >= 0x80.
_CHARS = rb"A-Za-z0-9\-._~!$&'()*+,;=:@/%\[\]{}|^`"
_ORIGIN_FORM = re.compile(rb"/[" + _CHARS + rb"]*(?:\?[" + _CHARS + rb"?]*)?\Z")
_ABSOLUTE_FORM = re.compile(rb"(?i:https?)://([A-Za-z0-9\-._~!$&'()*+,;=%:\[\]]+)([/?].*)?\Z", re.DOTALL)
_BAD_PERCENT = re.compile(rb"%(?![0-9A-Fa-f]{2})")
_HOSTS: set[bytes] = set()  # Host values already checked (up to 1024)
_HOST = re.compile(rb"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?\Z")


class Refusal(Exception):
    """The request is refused with `status` (4xx) and a short `reason`; the connection is closed after."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


SPECIAL = frozenset((b"host", b"content-length", b"transfer-encoding", b"expect", b"connection"))
"""The headers `check_head` looks at."""


def split_target(method: bytes, target: bytes, host: bytes | None) -> tuple[bytes, bytes]:
    """(path, query) of a request-target in origin-form, absolute-form (http/https, no userinfo, its authority
    equal to the Host header) or `*` (OPTIONS only). Refuses `#`, characters RFC 3986 forbids and bad %-escapes
    in the path, all of which llhttp accepts."""
    if _ORIGIN_FORM.match(target) is None:
        if target == b"*":
            if method != b"OPTIONS":
                raise Refusal(400, "the asterisk-form request-target is for OPTIONS only")
            return b"*", b""
        absolute = _ABSOLUTE_FORM.match(target)
        if absolute is None:
            raise Refusal(400, "invalid request-target")
        if host is None or absolute.group(1).lower() != host.lower():
            raise Refusal(400, "the absolute-form request-target names another host than the Host header")
        target = absolute.group(2) or b"/"
        if target[:1] == b"?":
            target = b"/" + target
        if _ORIGIN_FORM.match(target) is None:
            raise Refusal(400, "invalid request-target")
    path, _, query = target.partition(b"?")
    if b"%" in path and _BAD_PERCENT.search(path):
        raise Refusal(400, "invalid percent-encoding in the request path")
    return path, query


def check_head(method: bytes, version: str, target: bytes, special: list[tuple[bytes, bytes]] | None,
               upgrade: bool) -> tuple[bytes, bytes, bytes, int | None, bool, bool, bool]:
    """(version, path, query, content_length, chunked, expect_continue, close) of a request head whose framing
    headers (Host, Content-Length, Transfer-Encoding, Expect, Connection; lower-cased) are `special`. `close`: a
    Connection header names `close` (llhttp keeps an HTTP/1.0 connection alive when it also names keep-alive).

    Refuses what llhttp accepts: HTTP versions other than 1.0 and 1.1 (llhttp parses 0.9, even without a version,
    and 2.0); CONNECT; a missing Host on HTTP/1.1, several Host headers, a malformed one; Transfer-Encoding other
    than exactly `chunked` (`gzip, chunked`), any Transfer-Encoding on HTTP/1.0 (RFC 9112 6.1: faulty framing);
    lengths beyond 2**63-1; upgrade requests with a body (llhttp would take the body for upgrade bytes).
    """
    if version == "1.1":
        v = b"1.1"
    elif version == "1.0":
        v = b"1.0"
    else:
        raise Refusal(400, "unsupported HTTP version")
    if method == b"CONNECT":
        raise Refusal(405, "CONNECT is not supported")
    host = content_length = None
    transfer_encoding: list[bytes] = []
    expect = close = False
    for name, value in special or ():
        if name == b"host":
            if host is not None:
                raise Refusal(400, "more than one Host header")
            if value not in _HOSTS:
                if _HOST.match(value) is None:
                    raise Refusal(400, "invalid Host header")
                if len(_HOSTS) < 1024:
                    _HOSTS.add(value)
            host = value
        elif name == b"content-length":
            content_length = value
        elif name == b"transfer-encoding":
            transfer_encoding.append(value)
        elif name == b"connection":
            close = close or b"close" in (token.strip() for token in value.lower().split(b","))
        else:
            expect = value.lower() == b"100-continue" and v == b"1.1"
    if host is None and v == b"1.1":
        raise Refusal(400, "an HTTP/1.1 request needs a Host header")
    path, query = split_target(method, target, host)
    chunked = False
    if transfer_encoding:
        if v != b"1.1":
            raise Refusal(400, "Transfer-Encoding on an HTTP/1.0 request")
        if len(transfer_encoding) != 1 or transfer_encoding[0].lower() != b"chunked":
            raise Refusal(400, "unsupported Transfer-Encoding")
        chunked = True
    length = None
    if content_length is not None:
        length = int(content_length)
        if length > MAX_CONTENT_LENGTH:
            raise Refusal(400, "Content-Length too large")
    if upgrade and (chunked or length):
        raise Refusal(400, "an upgrade request cannot have a body")
    return v, path, query, length, chunked, expect, close
