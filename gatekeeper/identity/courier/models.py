"""Kratos' template models: the data each e-mail template sees, under Kratos' Go field names.

A template reads `{{ .VerificationCode }}`, `{{ .Identity.traits.email }}`... Fields the flow did not give
hold Go's zero value ("" for text, 0 for numbers, nil for maps), as in Kratos, so `{{ if .RecoveryURL }}`
works and `{{ .RequestURL }}` prints "" rather than `<no value>`.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

Field = tuple[str, str, Any]  # Go name, template_data (JSON) key, zero value


class TemplateType(StrEnum):
    """Kratos' `template_type` values for e-mail."""

    RECOVERY_INVALID = "recovery_invalid"
    RECOVERY_VALID = "recovery_valid"
    RECOVERY_CODE_INVALID = "recovery_code_invalid"
    RECOVERY_CODE_VALID = "recovery_code_valid"
    VERIFICATION_INVALID = "verification_invalid"
    VERIFICATION_VALID = "verification_valid"
    VERIFICATION_CODE_INVALID = "verification_code_invalid"
    VERIFICATION_CODE_VALID = "verification_code_valid"
    LOGIN_CODE_VALID = "login_code_valid"
    REGISTRATION_CODE_VALID = "registration_code_valid"

    @property
    def folder(self) -> str:
        """`verification_code_valid` -> `verification_code/valid` (Kratos' directory layout)."""
        name, _, validity = self.value.rpartition("_")
        return f"{name}/{validity}"


_INVALID: tuple[Field, ...] = (("To", "to", ""), ("RequestURL", "request_url", ""),
                               ("TransientPayload", "transient_payload", None))
_VALID = (*_INVALID, ("Identity", "identity", None), ("ExpiresInMinutes", "expires_in_minutes", 0))
_OAUTH2: Field = ("OAuth2LoginRequest", "oauth2_login_request", None)

FIELDS: dict[TemplateType, tuple[Field, ...]] = {
    TemplateType.RECOVERY_INVALID: _INVALID,
    TemplateType.RECOVERY_CODE_INVALID: _INVALID,
    TemplateType.VERIFICATION_INVALID: _INVALID,
    TemplateType.VERIFICATION_CODE_INVALID: _INVALID,
    TemplateType.RECOVERY_VALID: (*_VALID, ("RecoveryURL", "recovery_url", "")),
    TemplateType.RECOVERY_CODE_VALID: (*_VALID, ("RecoveryCode", "recovery_code", "")),
    TemplateType.VERIFICATION_VALID: (*_VALID, ("VerificationURL", "verification_url", ""), _OAUTH2),
    TemplateType.VERIFICATION_CODE_VALID: (*_VALID, ("VerificationURL", "verification_url", ""),
                                           ("VerificationCode", "verification_code", ""), _OAUTH2),
    TemplateType.LOGIN_CODE_VALID: (*_VALID, ("LoginCode", "login_code", ""), _OAUTH2),
    TemplateType.REGISTRATION_CODE_VALID: (*_INVALID, ("Traits", "traits", None),
                                           ("RegistrationCode", "registration_code", ""),
                                           ("ExpiresInMinutes", "expires_in_minutes", 0), _OAUTH2),
}

# template_data keys each template needs to make sense
REQUIRED: dict[TemplateType, tuple[str, ...]] = {
    TemplateType.RECOVERY_VALID: ("recovery_url",),
    TemplateType.RECOVERY_CODE_VALID: ("recovery_code",),
    TemplateType.VERIFICATION_VALID: ("verification_url",),
    TemplateType.VERIFICATION_CODE_VALID: ("verification_code",),
    TemplateType.LOGIN_CODE_VALID: ("login_code",),
    TemplateType.REGISTRATION_CODE_VALID: ("registration_code",),
}


def model(kind: TemplateType, data: Mapping[str, Any]) -> dict[str, Any]:
    """The template's data: each of Kratos' fields from `data` (template_data JSON keys), or its zero value."""
    return {go: value if (value := data.get(key)) is not None else zero for go, key, zero in FIELDS[kind]}
