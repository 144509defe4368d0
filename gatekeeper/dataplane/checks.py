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
_ORIGIN_FORM = re.compile(rb"(/[" + _CHARS + rb"]*)(?:\?([" + _CHARS + rb"?]*))?\Z")
_ABSOLUTE_FORM = re.compile(rb"(?i:https?)://([A-Za-z0-9\-._~!$&'()*+,;=%:\[\]]+)([/?].*)?\Z", re.DOTALL)
_BAD_PERCENT = re.compile(rb"%(?![0-9A-Fa-f]{2})")
_HOST = re.compile(rb"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?\Z")


class Refusal(Exception):
    """The request is refused with `status` (4xx) and a short `reason`; the connection is closed after."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def split_target(method: bytes, target: bytes, host: bytes | None) -> tuple[bytes, bytes]:
    """(path, query) of a request-target in origin-form, absolute-form (http/https, no userinfo, its authority
    equal to the Host header) or `*` (OPTIONS only). Refuses `#`, characters RFC 3986 forbids and bad %-escapes
    in the path, all of which llhttp accepts."""
    m = _ORIGIN_FORM.match(target)
    if m is None:
        if target == b"*":
            if method != b"OPTIONS":
                raise Refusal(400, "the asterisk-form request-target is for OPTIONS only")
            return b"*", b""
        absolute = _ABSOLUTE_FORM.match(target)
        if absolute is None:
            raise Refusal(400, "invalid request-target")
        if host is None or absolute.group(1).lower() != host.lower():
            raise Refusal(400, "the absolute-form request-target names another host than the Host header")
        rest = absolute.group(2) or b"/"
        m = _ORIGIN_FORM.match(b"/" + rest if rest[:1] == b"?" else rest)
        if m is None:
            raise Refusal(400, "invalid request-target")
    path = m.group(1)
    if b"%" in path and _BAD_PERCENT.search(path):
        raise Refusal(400, "invalid percent-encoding in the request path")
    return path, m.group(2) or b""


def check_version(version: str) -> bytes:
    """HTTP/1.0 or HTTP/1.1 only: llhttp also parses 0.9 (even without a version) and 2.0."""
    if version == "1.1":
        return b"1.1"
    if version == "1.0":
        return b"1.0"
    raise Refusal(400, "unsupported HTTP version")


def check_host(hosts: list[bytes], version: bytes) -> bytes | None:
    """Exactly one well-formed Host header on HTTP/1.1, at most one on HTTP/1.0 (llhttp does not look)."""
    if len(hosts) > 1:
        raise Refusal(400, "more than one Host header")
    if not hosts:
        if version == b"1.1":
            raise Refusal(400, "an HTTP/1.1 request needs a Host header")
        return None
    if _HOST.match(hosts[0]) is None:
        raise Refusal(400, "invalid Host header")
    return hosts[0]


def check_framing(content_length: bytes | None, transfer_encoding: list[bytes], version: bytes,
                  upgrade: bool) -> tuple[int | None, bool]:
    """(content_length, chunked). Refuses what llhttp accepts: a Transfer-Encoding other than exactly `chunked`
    (`gzip, chunked`), any Transfer-Encoding on HTTP/1.0 (RFC 9112 6.1: faulty framing), lengths beyond 2**63-1,
    and upgrade requests with a body (llhttp would take the body for upgrade bytes)."""
    chunked = False
    if transfer_encoding:
        if version != b"1.1":
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
    return length, chunked
