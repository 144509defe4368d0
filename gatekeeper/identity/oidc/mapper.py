"""Claims -> identity mapping with Jsonnet, exactly as Kratos: the mapper reads `std.extVar('claims')` and
returns `{identity: {traits: {...}, metadata_public?: ..., metadata_admin?: ..., verified_addresses?: [...]}}`.
The identity being signed in to is `std.extVar('identity')` ({traits, metadata_public, metadata_admin}; empty
objects at registration), as Kratos passes it. Sources load once at start-up (identity/jsonnet.py: `file://`,
`base64://`, `http(s)://`; no imports).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from gatekeeper.errors import GatekeeperError
from gatekeeper.identity.jsonnet import JsonnetError, Program

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


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`override` deep-merged over `base` (objects merge, anything else is replaced)."""
    out = dict(base)
    for key, value in override.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


class MapperError(GatekeeperError):
    """The operator's mapper failed or returned the wrong shape (a server-side problem: 500)."""


@dataclass(frozen=True)
class Mapped:
    traits: dict[str, Any]
    metadata_public: Any = None
    metadata_admin: Any = None
    verified_addresses: list[dict[str, Any]] = field(default_factory=list)
    given: frozenset[str] = frozenset()  # the keys of `identity` the mapper returned (absent metadata is kept)


class Mapper(Program):
    @classmethod
    async def load(cls, url: str, http: httpx.AsyncClient) -> Mapper:
        """Read the mapper at `url`, the default one without (ValueError with the reason when it cannot be read)."""
        if not url:
            return cls(DEFAULT_MAPPER, "default.jsonnet")
        program = await Program.load(url, http)
        return cls(program.source, program.name)

    async def evaluate(self, claims: dict[str, Any], current: dict[str, Any] | None = None) -> Mapped:
        """The mapper's identity for `claims`; `current`: the existing identity's traits and metadata."""
        empty: dict[str, Any] = {"traits": {}, "metadata_public": {}, "metadata_admin": {}}
        identity = {k: (current or {}).get(k) or v for k, v in empty.items()}
        try:
            data = await self.value(ext={"claims": claims, "identity": identity})
        except JsonnetError as exc:
            raise MapperError(reason=f"OpenID Connect Jsonnet mapper failed: {exc}") from None
        ident = data.get("identity") if isinstance(data, dict) else None
        traits = ident.get("traits") if isinstance(ident, dict) else None
        if not isinstance(ident, dict) or not isinstance(traits, dict):
            raise MapperError(reason="OpenID Connect Jsonnet mapper did not return an object for key "
                                     "identity.traits. Please check your Jsonnet code!")
        verified = ident.get("verified_addresses") or []
        return Mapped(traits=traits, metadata_public=ident.get("metadata_public"),
                      metadata_admin=ident.get("metadata_admin"),
                      verified_addresses=[v for v in verified if isinstance(v, dict)] if isinstance(verified, list)
                      else [], given=frozenset(ident))
