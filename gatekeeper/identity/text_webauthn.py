"""Message ids and texts of the passkey and webauthn methods (Kratos' text/message_login.go,
message_registration.go, message_settings.go and message_validation.go), in the catalog's `text()` shape."""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum
from typing import Any, cast

from gatekeeper.identity.identities import rfc3339
from gatekeeper.identity.text import Msg, error, text


class WebauthnMsg(IntEnum):
    INFO_LOGIN_WEBAUTHN = 1010008
    INFO_LOGIN_PREPARE_DEVICE = 1010012
    INFO_LOGIN_CONTINUE = 1010013
    INFO_LOGIN_PASSKEY = 1010021
    INFO_REGISTRATION_WEBAUTHN = 1040004
    INFO_REGISTRATION_PASSKEY = 1040007
    INFO_SETTINGS_ADD_WEBAUTHN = 1050012
    LABEL_WEBAUTHN_NAME = 1050013
    INFO_SETTINGS_REMOVE_WEBAUTHN = 1050018
    INFO_SETTINGS_ADD_PASSKEY = 1050019
    INFO_SETTINGS_REMOVE_PASSKEY = 1050020
    ERR_VERIFIER_WRONG = 4000008
    ERR_NO_WEBAUTHN_DEVICE = 4000013
    ERR_NO_WEBAUTHN_USER = 4000015


M = WebauthnMsg


def _info(msg: WebauthnMsg, message: str, **context: Any) -> dict[str, Any]:
    return text(cast(Msg, msg), message, **context)


def _error(msg: WebauthnMsg, message: str) -> dict[str, Any]:
    return error(cast(Msg, msg), message)


def login_passkey() -> dict[str, Any]:
    return _info(M.INFO_LOGIN_PASSKEY, "Sign in with passkey")


def prepare_device() -> dict[str, Any]:
    return _info(M.INFO_LOGIN_PREPARE_DEVICE, "Prepare your WebAuthn device (e.g. security key, biometrics "
                 "scanner, ...) and press continue.")


def login_continue() -> dict[str, Any]:
    return _info(M.INFO_LOGIN_CONTINUE, "Continue")


def login_webauthn() -> dict[str, Any]:
    return _info(M.INFO_LOGIN_WEBAUTHN, "Sign in with hardware key")


def registration_passkey() -> dict[str, Any]:
    return _info(M.INFO_REGISTRATION_PASSKEY, "Sign up with passkey")


def registration_webauthn() -> dict[str, Any]:
    return _info(M.INFO_REGISTRATION_WEBAUTHN, "Sign up with security key")


def add_passkey() -> dict[str, Any]:
    return _info(M.INFO_SETTINGS_ADD_PASSKEY, "Add passkey")


def add_webauthn() -> dict[str, Any]:
    return _info(M.INFO_SETTINGS_ADD_WEBAUTHN, "Add security key")


def webauthn_name_label() -> dict[str, Any]:
    return _info(M.LABEL_WEBAUTHN_NAME, "Name of the security key")


def _removal(msg: WebauthnMsg, noun: str, name: str, added_at: datetime | None) -> dict[str, Any]:
    added = added_at or datetime.fromtimestamp(0).astimezone()
    return _info(msg, f'Remove {noun} "{name}"', display_name=name, added_at=rfc3339(added),
                 added_at_unix=int(added.timestamp()))


def remove_passkey(name: str, added_at: datetime | None) -> dict[str, Any]:
    return _removal(M.INFO_SETTINGS_REMOVE_PASSKEY, "passkey", name or "unnamed", added_at)


def remove_webauthn(name: str, added_at: datetime | None) -> dict[str, Any]:
    return _removal(M.INFO_SETTINGS_REMOVE_WEBAUTHN, "security key", name or "unnamed", added_at)


def verifier_wrong() -> dict[str, Any]:
    """What Kratos says when a WebAuthn answer does not verify (it reuses the TOTP text)."""
    return _error(M.ERR_VERIFIER_WRONG, "The provided authentication code is invalid, please try again.")


def no_webauthn_device() -> dict[str, Any]:
    return _error(M.ERR_NO_WEBAUTHN_DEVICE, "You have no WebAuthn device set up.")


def no_webauthn_user() -> dict[str, Any]:
    return _error(M.ERR_NO_WEBAUTHN_USER, "This account does not exist or has no security key set up.")
