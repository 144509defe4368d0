"""Sealed values (Fernet: AES-CBC + HMAC-SHA256 from `cryptography`) under keys derived with HKDF from
`secrets.cipher` (else `secrets.cookie`): the OAuth2 `state` parameter and the provider tokens kept on
credentials. The first secret seals; all of them open (rotation).

How a callback is tied to its sign-in: the `state` is sealed {flow, kind, provider, random}, so nobody can
forge one; the flow keeps its digest, used once (a replayed callback fails); nonce and PKCE verifier stay on
the flow, server-side; and the callback must carry the browser's anti-CSRF cookie that flow was created for
(Kratos keeps the same binding in its continuity cookie).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from gatekeeper.config import Config

LIFETIME = 3600  # a sign-in at the provider must finish within the hour (the flows' default lifespan)


def _key(secret: str, purpose: bytes) -> Fernet:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"gatekeeper " + purpose).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(raw))


class Sealer:
    """Seal and open small JSON payloads (also used for the provider tokens kept on credentials)."""

    def __init__(self, config: Config, purpose: bytes) -> None:
        secrets = [s.value for s in (*config.cipher_secrets, *config.cookie_secrets) if s is not None]
        if not secrets:
            raise ValueError("social sign-in needs secrets.cipher or secrets.cookie")
        self._fernet = MultiFernet([_key(s, purpose) for s in secrets])

    def seal(self, payload: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(payload, separators=(",", ":")).encode()).decode()

    def open(self, token: str | None, ttl: int | None = None) -> dict[str, Any] | None:
        """The payload, or None when the value is missing, forged, from an unknown key or older than `ttl`."""
        if not token or len(token) > 8192:
            return None
        try:
            data = json.loads(self._fernet.decrypt(token.encode(), ttl=ttl))
        except (InvalidToken, ValueError, UnicodeDecodeError):
            return None
        return data if isinstance(data, dict) else None
