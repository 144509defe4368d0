"""The relying party: WebAuthn options for a flow and the checks of what the browser's authenticator answered.

py_webauthn does the ceremony checks (challenge, origin, RP ID hash, user presence and, when required, user
verification, signature, sign counter); this module keeps each challenge with its flow (`flow.internal`),
takes it out on the first use, so an answer verifies at most once, and says why an answer was refused.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.authentication.verify_authentication_response import VerifiedAuthentication
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorAttachment,
    AuthenticatorSelectionCriteria,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)
from webauthn.registration.verify_registration_response import VerifiedRegistration

from gatekeeper.config.webauthn import RelyingParty as RelyingPartyConfig
from gatekeeper.identity.webauthn.credentials import b64

TIMEOUT_MS = 300_000  # as go-webauthn: conditional UI waits for the user to pick a passkey


class Unreadable(Exception):
    """The submitted answer is not a WebAuthn credential JSON."""


class Refused(Exception):
    """The answer does not verify (wrong challenge, origin, RP ID, signature, counter, ...)."""


@dataclass(frozen=True)
class Ceremony:
    """What a flow keeps between showing options and checking the answer."""

    challenge: str
    user_id: str = ""

    def to_json(self) -> dict[str, str]:
        return {"challenge": self.challenge, "user_id": self.user_id}

    @classmethod
    def take(cls, internal: dict[str, Any], key: str) -> Ceremony | None:
        """Remove the flow's pending ceremony under `key` (single use) and return it."""
        raw = internal.pop(key, None)
        if not isinstance(raw, dict) or not isinstance(raw.get("challenge"), str):
            return None
        return cls(challenge=raw["challenge"], user_id=str(raw.get("user_id") or ""))


class RelyingParty:
    """One method's RP: `platform` and `resident` as Kratos' passkey config (discoverable platform keys),
    plain for security keys."""

    def __init__(self, config: RelyingPartyConfig, public_base_url: str, *, resident: bool,
                 user_verification: UserVerificationRequirement) -> None:
        base = urlsplit(public_base_url)
        self.id, self.name = config.id, config.display_name
        # Kratos' default is scheme://<rp id>; the public base URL's own origin when it is on the RP ID (its port)
        default = f"{base.scheme}://{base.netloc}" if base.hostname == config.id else f"{base.scheme}://{config.id}"
        self.origins = list(config.origins) or [getattr(config, "origin", "") or default]
        self.resident = resident
        self.user_verification = user_verification

    def registration(self, user_name: str, exclude: Sequence[bytes] = ()) -> tuple[dict[str, Any], Ceremony]:
        """Creation options (`{"publicKey": ...}`) for a new random user handle (64 letters and digits, as
        Kratos), and the ceremony to keep."""
        user_id = "".join(secrets.choice(_ALNUM) for _ in range(64))
        selection = AuthenticatorSelectionCriteria(
            authenticator_attachment=AuthenticatorAttachment.PLATFORM if self.resident else None,
            resident_key=ResidentKeyRequirement.REQUIRED if self.resident else ResidentKeyRequirement.DISCOURAGED,
            require_resident_key=self.resident, user_verification=self.user_verification)
        options = generate_registration_options(
            rp_id=self.id, rp_name=self.name, user_name=user_name or self.name, user_id=user_id.encode(),
            user_display_name=user_name or self.name, timeout=TIMEOUT_MS, authenticator_selection=selection,
            exclude_credentials=[PublicKeyCredentialDescriptor(id=c) for c in exclude])
        ceremony = Ceremony(challenge=bytes_to_base64url(options.challenge), user_id=user_id)
        return {"publicKey": json.loads(options_to_json(options))}, ceremony

    def authentication(self, allow: Sequence[bytes] = ()) -> tuple[dict[str, Any], Ceremony]:
        """Request options (`{"publicKey": ...}`): discoverable (no `allow` list) for passkeys."""
        options = generate_authentication_options(
            rp_id=self.id, timeout=TIMEOUT_MS, user_verification=self.user_verification,
            allow_credentials=[PublicKeyCredentialDescriptor(id=c) for c in allow])
        return {"publicKey": json.loads(options_to_json(options))}, Ceremony(bytes_to_base64url(options.challenge))

    @property
    def _uv_required(self) -> bool:
        return self.user_verification == UserVerificationRequirement.REQUIRED

    def verify_registration(self, answer: dict[str, Any], ceremony: Ceremony) -> VerifiedRegistration:
        try:
            return verify_registration_response(
                credential=answer, expected_challenge=base64url_to_bytes(ceremony.challenge),
                expected_rp_id=self.id, expected_origin=self.origins,
                require_user_verification=self._uv_required)
        except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
            raise Refused(str(exc) or type(exc).__name__) from exc

    def verify_authentication(self, answer: dict[str, Any], ceremony: Ceremony, public_key: bytes,
                              sign_count: int) -> VerifiedAuthentication:
        try:
            return verify_authentication_response(
                credential=answer, expected_challenge=base64url_to_bytes(ceremony.challenge),
                expected_rp_id=self.id, expected_origin=self.origins, credential_public_key=public_key,
                credential_current_sign_count=sign_count, require_user_verification=self._uv_required)
        except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
            raise Refused(str(exc) or type(exc).__name__) from exc


def parse_answer(raw: str) -> dict[str, Any]:
    """The browser's credential JSON (as Kratos' webauthn.js posts it); Unreadable when it is not one."""
    try:
        answer = json.loads(raw)
    except ValueError as exc:
        raise Unreadable(str(exc)) from exc
    if not isinstance(answer, dict) or not isinstance(answer.get("response"), dict) \
            or not isinstance(answer.get("rawId"), str):
        raise Unreadable("expected a public-key credential with rawId and response")
    return answer


def answer_bytes(answer: dict[str, Any], *path: str) -> bytes:
    """A base64url member of the answer (`rawId`, `response.userHandle`); empty when absent or malformed."""
    node: Any = answer
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    if not isinstance(node, str) or not node:
        return b""
    try:
        return base64url_to_bytes(node)
    except ValueError:
        return b""


_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def new_entry(verified: VerifiedRegistration, *, passwordless: bool, display_name: str = "") -> dict[str, Any]:
    """The list entry for a verified registration."""
    return {
        "id": b64(verified.credential_id), "public_key": b64(verified.credential_public_key),
        "attestation_type": str(verified.fmt.value if hasattr(verified.fmt, "value") else verified.fmt),
        "authenticator": {"aaguid": b64(uuid.UUID(verified.aaguid).bytes), "sign_count": verified.sign_count,
                          "clone_warning": False},
        "display_name": display_name,
        "added_at": datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "is_passwordless": passwordless,
        "flags": {"user_present": True, "user_verified": verified.user_verified,
                  "backup_eligible": verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE,
                  "backup_state": verified.credential_backed_up},
    }
