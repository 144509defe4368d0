"""Page tokens a client cannot forge: the last `seq` of a page, signed with HMAC-SHA256 under the first of
`secrets.pagination` (older keys still verify). A token that does not verify is Keto's 400."""

from __future__ import annotations

import base64
import hashlib
import hmac

from gatekeeper.errors import BadRequest

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500  # Keto's keyset paginator caps a page here


class PageTokens:
    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("page tokens need at least one key")
        self._keys = keys

    def issue(self, after: int) -> str:
        payload = str(after).encode()
        mac = hmac.new(self._keys[0], payload, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(payload + b"." + mac).decode().rstrip("=")

    def read(self, token: str) -> int:
        """The position a token continues after; BadRequest when it was not issued here."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            payload, dot, mac = raw[:-17], raw[-17:-16], raw[-16:]
            if dot != b".":
                raise ValueError("not a page token")
            after = int(payload.decode("ascii"))
        except (ValueError, UnicodeDecodeError):
            raise BadRequest(reason="the page token is invalid") from None
        if after < 0 or not any(hmac.compare_digest(mac, hmac.new(k, payload, hashlib.sha256).digest()[:16])
                                for k in self._keys):
            raise BadRequest(reason="the page token is invalid")
        return after


def page_size(raw: str | None) -> int:
    """`page_size` as Keto reads it: missing or 0 is the default, above the maximum is the maximum."""
    if raw is None or raw == "":
        return DEFAULT_PAGE_SIZE
    try:
        size = int(raw)
    except ValueError:
        raise BadRequest(reason=f"page_size must be an integer, got {raw!r}") from None
    if size < 0:
        raise BadRequest(reason="page_size must not be negative")
    return min(size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
