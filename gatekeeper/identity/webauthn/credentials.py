"""The stored WebAuthn credential list, in Kratos' `CredentialsWebAuthnConfig` shape so identities move between
Kratos and gatekeeper: `{"credentials": [{id, public_key, attestation_type, authenticator: {aaguid, sign_count,
clone_warning}, display_name, added_at, is_passwordless, flags}], "user_handle"}`, bytes in standard base64 (Go's
encoding of `[]byte`)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gatekeeper.store.identities import IdentityRecord


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def unb64(value: Any) -> bytes:
    try:
        return base64.b64decode(value) if isinstance(value, str) else b""
    except ValueError:
        return b""


@dataclass(frozen=True)
class StoredKey:
    """One entry of the list, read back."""

    id: bytes
    public_key: bytes
    sign_count: int
    display_name: str
    added_at: datetime | None
    passwordless: bool

    @property
    def hex_id(self) -> str:
        """The id as Kratos' remove buttons carry it (`%x`)."""
        return self.id.hex()


def keys(config: dict[str, Any] | None) -> list[StoredKey]:
    """The entries of a stored config; malformed ones are skipped."""
    out = []
    for entry in (config or {}).get("credentials") or []:
        if not isinstance(entry, dict):
            continue
        auth = entry.get("authenticator")
        count = auth.get("sign_count", 0) if isinstance(auth, dict) else 0
        out.append(StoredKey(id=unb64(entry.get("id")), public_key=unb64(entry.get("public_key")),
                             sign_count=count if isinstance(count, int) else 0,
                             display_name=str(entry.get("display_name") or ""),
                             added_at=_time(entry.get("added_at")), passwordless=bool(entry.get("is_passwordless"))))
    return out


def with_sign_count(config: dict[str, Any], key_id: bytes, count: int) -> dict[str, Any]:
    """A copy of `config` with that key's counter moved on."""
    entries = []
    for entry in config.get("credentials") or []:
        if isinstance(entry, dict) and unb64(entry.get("id")) == key_id:
            entry = {**entry, "authenticator": {**(entry.get("authenticator") or {}), "sign_count": count}}
        entries.append(entry)
    return {**config, "credentials": entries}


def without(config: dict[str, Any], hex_id: str) -> dict[str, Any]:
    """A copy of `config` without the key whose id is `hex_id`."""
    entries = [e for e in config.get("credentials") or [] if not (isinstance(e, dict) and
                                                                   unb64(e.get("id")).hex() == hex_id)]
    return {**config, "credentials": entries}


def first_factors(ident: IdentityRecord) -> int:
    """Ways to sign in without a second factor: a password, each linked provider, each passkey and each
    passwordless security key (Kratos' CountActiveFirstFactorCredentials)."""
    password = ident.credentials.get("password")
    count = int(bool(password and password.identifiers and (password.config or {}).get("hashed_password")))
    oidc = ident.credentials.get("oidc")
    count += len((oidc.config or {}).get("providers") or []) if oidc else 0
    for cred_type in ("passkey", "webauthn"):
        cred = ident.credentials.get(cred_type)
        if cred is not None and cred.identifiers:
            count += sum(1 for k in keys(cred.config) if cred_type == "passkey" or k.passwordless)
    return count


def _time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
