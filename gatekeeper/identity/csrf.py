"""Anti-CSRF tokens as Kratos (nosurf): a random cookie token, masked afresh into each form."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

TOKEN_BYTES = 32


def cookie_name(public_base_url: str) -> str:
    return "csrf_token_" + hashlib.sha256(public_base_url.encode()).hexdigest()


def new_token() -> str:
    return base64.b64encode(secrets.token_bytes(TOKEN_BYTES)).decode()


def mask(token: str) -> str:
    """`pad || token XOR pad`, base64: a different form value on every render, same secret."""
    raw = base64.b64decode(token)
    pad = secrets.token_bytes(len(raw))
    return base64.b64encode(pad + bytes(a ^ b for a, b in zip(raw, pad, strict=True))).decode()


def _unmask(value: str) -> bytes | None:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) == TOKEN_BYTES:
        return raw
    if len(raw) == 2 * TOKEN_BYTES:
        pad, masked = raw[:TOKEN_BYTES], raw[TOKEN_BYTES:]
        return bytes(a ^ b for a, b in zip(masked, pad, strict=True))
    return None


def verify(cookie_token: str | None, submitted: str | None) -> bool:
    """Does the submitted (masked or raw) token carry the cookie's secret? Constant time."""
    if not cookie_token or not submitted:
        return False
    a, b = _unmask(cookie_token), _unmask(submitted)
    return a is not None and b is not None and hmac.compare_digest(a, b)


def digest(token: str) -> str:
    """What a flow stores to bind itself to the browser's CSRF cookie (never the token itself)."""
    raw = _unmask(token) or b""
    return hashlib.sha256(raw).hexdigest()
