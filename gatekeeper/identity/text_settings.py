"""Message ids and texts of the settings flow and the second factors (Kratos' text/message_settings.go and the
TOTP / lookup parts of message_login.go and message_validation.go), in the catalog's `text()` shape."""

from __future__ import annotations

from enum import IntEnum
from typing import Any, cast

from gatekeeper.identity.text import Msg, error, text


class SettingsMsg(IntEnum):
    INFO_LOGIN_MFA = 1010004
    LABEL_LOGIN_TOTP = 1010006
    LABEL_LOGIN_LOOKUP = 1010007
    INFO_LOGIN_TOTP = 1010009
    INFO_LOGIN_LOOKUP = 1010010
    INFO_SETTINGS_SAVED = 1050001
    INFO_TOTP_UNLINK = 1050004
    INFO_TOTP_QR = 1050005
    INFO_TOTP_SECRET = 1050006
    INFO_LOOKUP_REVEAL = 1050007
    INFO_LOOKUP_REGENERATE = 1050008
    INFO_LOOKUP_SECRET = 1050009
    INFO_LOOKUP_LABEL = 1050010
    INFO_LOOKUP_CONFIRM = 1050011
    INFO_LOOKUP_USED = 1050014
    INFO_LOOKUP_LIST = 1050015
    INFO_DISABLE = 1050016
    INFO_TOTP_SECRET_LABEL = 1050017
    LABEL_SAVE = 1070003
    LABEL_VERIFY_CODE = 1070006
    ERR_TOTP_INVALID = 4000008
    ERR_TOTP_MISSING = 4000011
    ERR_LOOKUP_USED = 4000012
    ERR_LOOKUP_MISSING = 4000014
    ERR_LOOKUP_INVALID = 4000016
    ERR_PASSWORD_SAME = 4000039
    ERR_SETTINGS_NO_STRATEGY = 4010004
    ERR_SETTINGS_EXPIRED = 4050001


M = SettingsMsg


def _info(msg: SettingsMsg, message: str, kind: str = "info", **context: Any) -> dict[str, Any]:
    return text(cast(Msg, msg), message, kind, **context)


def _error(msg: SettingsMsg, message: str, **context: Any) -> dict[str, Any]:
    return error(cast(Msg, msg), message, **context)


def saved() -> dict[str, Any]:
    return _info(M.INFO_SETTINGS_SAVED, "Your changes have been saved!", "success")


def save_button() -> dict[str, Any]:
    return _info(M.LABEL_SAVE, "Save")


def complete_second_factor() -> dict[str, Any]:
    return _info(M.INFO_LOGIN_MFA, "Please complete the second authentication challenge.")


def login_totp_label() -> dict[str, Any]:
    return _info(M.LABEL_LOGIN_TOTP, "Authentication code")


def login_totp_button() -> dict[str, Any]:
    return _info(M.INFO_LOGIN_TOTP, "Use Authenticator")


def login_lookup_label() -> dict[str, Any]:
    return _info(M.LABEL_LOGIN_LOOKUP, "Backup recovery code")


def login_lookup_button() -> dict[str, Any]:
    return _info(M.INFO_LOGIN_LOOKUP, "Use backup recovery code")


def totp_unlink() -> dict[str, Any]:
    return _info(M.INFO_TOTP_UNLINK, "Unlink TOTP Authenticator App")


def totp_qr() -> dict[str, Any]:
    return _info(M.INFO_TOTP_QR, "Authenticator app QR code")


def totp_secret(secret: str) -> dict[str, Any]:
    return _info(M.INFO_TOTP_SECRET, secret, secret=secret)


def totp_secret_label() -> dict[str, Any]:
    return _info(M.INFO_TOTP_SECRET_LABEL,
                "This is your authenticator app secret. Use it if you can not scan the QR code.")


def verify_code_label() -> dict[str, Any]:
    return _info(M.LABEL_VERIFY_CODE, "Verify code")


def lookup_reveal() -> dict[str, Any]:
    return _info(M.INFO_LOOKUP_REVEAL, "Reveal backup recovery codes")


def lookup_regenerate() -> dict[str, Any]:
    return _info(M.INFO_LOOKUP_REGENERATE, "Generate new backup recovery codes")


def lookup_confirm() -> dict[str, Any]:
    return _info(M.INFO_LOOKUP_CONFIRM, "Confirm backup recovery codes")


def lookup_disable() -> dict[str, Any]:
    return _info(M.INFO_DISABLE, "Disable this method")


def lookup_label() -> dict[str, Any]:
    return _info(M.INFO_LOOKUP_LABEL,
                "These are your back up recovery codes. Please keep them in a safe place!")


def lookup_secret(secret: str) -> dict[str, Any]:
    return _info(M.INFO_LOOKUP_SECRET, secret, secret=secret)


def lookup_used(used_at: str, used_at_unix: int) -> dict[str, Any]:
    return _info(M.INFO_LOOKUP_USED, f"Secret was used at {used_at}",
                used_at=used_at, used_at_unix=used_at_unix)


def lookup_list(shown: list[str], items: list[dict[str, Any]]) -> dict[str, Any]:
    """The codes as text ("used" for used ones, as Kratos) with one message per code in `secrets`."""
    return _info(M.INFO_LOOKUP_LIST, ", ".join(shown), secrets=items)


def totp_invalid() -> dict[str, Any]:
    return _error(M.ERR_TOTP_INVALID, "The provided authentication code is invalid, please try again.")


def totp_missing() -> dict[str, Any]:
    return _error(M.ERR_TOTP_MISSING, "You have no TOTP device set up.")


def lookup_already_used() -> dict[str, Any]:
    return _error(M.ERR_LOOKUP_USED, "This backup recovery code has already been used.")


def lookup_missing() -> dict[str, Any]:
    return _error(M.ERR_LOOKUP_MISSING, "You have no backup recovery codes set up.")


def lookup_invalid() -> dict[str, Any]:
    return _error(M.ERR_LOOKUP_INVALID, "The backup recovery code is not valid.")


def password_same() -> dict[str, Any]:
    return _error(M.ERR_PASSWORD_SAME, "The new password must be different from the old password.")


def no_strategy() -> dict[str, Any]:
    return _error(M.ERR_SETTINGS_NO_STRATEGY,
                 "Could not find a strategy to update your settings. Did you fill out the form correctly?")


def expired(expired_at: str, expired_unix: int, ago_minutes: float) -> dict[str, Any]:
    return _error(M.ERR_SETTINGS_EXPIRED,
                 f"The settings flow expired {ago_minutes:.2f} minutes ago, please try again.",
                 expired_at=expired_at, expired_at_unix=expired_unix)
