"""Claims -> identity mapping with Jsonnet, exactly as Kratos: the mapper reads `std.extVar('claims')` and
returns `{identity: {traits: {...}, metadata_public?: ..., metadata_admin?: ..., verified_addresses?: [...]}}`.

The `jsonnet` binding (C++ go-jsonnet's sibling) evaluates off the event loop; `import` is refused, so a
mapper cannot read files. Sources load once at start-up from `file://`, `base64://` or `http(s)://`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import _jsonnet
import httpx

from gatekeeper.errors import GatekeeperError

# without a mapper_url: the e-mail, when the provider says it is verified (or says nothing about it)
DEFAULT_MAPPER = """
local claims = std.extVar('claims');
{
  identity: {
    traits: {
      [if 'email' in claims && std.get(claims, 'email_verified', true) != false then 'email' else null]:
        claims.email,
    },
  },
}
"""


class MapperError(GatekeeperError):
    """The operator's mapper failed or returned the wrong shape (a server-side problem: 500)."""


@dataclass(frozen=True)
class Mapped:
    traits: dict[str, Any]
    metadata_public: Any = None
    metadata_admin: Any = None
    verified_addresses: list[dict[str, Any]] = field(default_factory=list)


def _refuse_imports(base: str, rel: str) -> tuple[str, bytes]:
    raise RuntimeError("imports are not allowed in claims mappers")


class Mapper:
    def __init__(self, source: str, name: str) -> None:
        self.source, self.name = source, name

    @classmethod
    async def load(cls, url: str, http: httpx.AsyncClient) -> Mapper:
        """Read the mapper at `url` (ValueError with the reason when it cannot be read)."""
        if not url:
            return cls(DEFAULT_MAPPER, "default.jsonnet")
        parts = urlsplit(url)
        if parts.scheme == "file":
            path = Path(url[len("file://"):])
            try:
                return cls(path.read_text(), str(path))
            except OSError as exc:
                raise ValueError(f"cannot read {path}: {exc.strerror}") from None
        if parts.scheme == "base64":
            raw = url[len("base64://"):]
            try:
                return cls(base64.b64decode(raw + "=" * (-len(raw) % 4), altchars=b"-_").decode(), "base64.jsonnet")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                raise ValueError("the base64:// mapper is not valid base64 text") from None
        if parts.scheme in ("http", "https"):
            try:
                resp = await http.get(url, timeout=10)
                resp.raise_for_status()
            except httpx.HTTPError as exc:
                raise ValueError(f"cannot fetch the mapper: {type(exc).__name__}") from None
            return cls(resp.text, url)
        raise ValueError("mapper_url must be file://, base64:// or http(s)://")

    async def evaluate(self, claims: dict[str, Any]) -> Mapped:
        try:
            out = await asyncio.to_thread(_jsonnet.evaluate_snippet, self.name, self.source,
                                          ext_codes={"claims": json.dumps(claims)}, import_callback=_refuse_imports)
            data = json.loads(out)
        except (RuntimeError, ValueError) as exc:
            raise MapperError(reason=f"OpenID Connect Jsonnet mapper failed: {str(exc).splitlines()[0][:300]}") \
                from None
        ident = data.get("identity") if isinstance(data, dict) else None
        traits = ident.get("traits") if isinstance(ident, dict) else None
        if not isinstance(ident, dict) or not isinstance(traits, dict):
            raise MapperError(reason="OpenID Connect Jsonnet mapper did not return an object for key "
                                     "identity.traits. Please check your Jsonnet code!")
        verified = ident.get("verified_addresses") or []
        return Mapped(traits=traits, metadata_public=ident.get("metadata_public"),
                      metadata_admin=ident.get("metadata_admin"),
                      verified_addresses=[v for v in verified if isinstance(v, dict)] if isinstance(verified, list)
                      else [])
