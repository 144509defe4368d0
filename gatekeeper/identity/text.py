"""UI message ids and texts, as Kratos' `text/` package (ids in numbered blocks per flow)."""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class Msg(IntEnum):
    INFO_LOGIN_ROOT = 1010000
    INFO_LOGIN_WITH = 1010002
    INFO_LOGIN_LINK = 1010016
    INFO_LOGIN_WITH_AND_LINK = 1010018
    INFO_REGISTRATION_WITH = 1040002
    INFO_REGISTRATION_CONTINUE = 1040003
    INFO_SETTINGS_LINK_OIDC = 1050002
    INFO_SETTINGS_UNLINK_OIDC = 1050003
    ERR_DUPLICATE_ON_OIDC_LINK = 4000027
    ERR_LOGIN_LINKED_CREDENTIALS_MISMATCH = 4010009
    INFO_LOGIN_REAUTH = 1010003
    INFO_LOGIN_PASSWORD = 1010022
    INFO_REGISTRATION = 1040001
    INFO_REGISTRATION_BACK = 1040008
    INFO_REGISTRATION_CHOOSE_CREDENTIALS = 1040009
    LABEL_PASSWORD = 1070001
    LABEL_GENERATED = 1070002
    LABEL_ID = 1070004
    LABEL_CONTINUE = 1070009
    ERR_VALIDATION_GENERIC = 4000001
    ERR_VALIDATION_REQUIRED = 4000002
    ERR_VALIDATION_MIN_LENGTH = 4000003
    ERR_VALIDATION_PATTERN = 4000004
    ERR_VALIDATION_PASSWORD_POLICY = 4000005
    ERR_INVALID_CREDENTIALS = 4000006
    ERR_DUPLICATE_CREDENTIALS = 4000007
    ERR_IDENTIFIER_MISSING = 4000009
    ERR_VALIDATION_MAX_LENGTH = 4000017
    ERR_VALIDATION_MINIMUM = 4000018
    ERR_VALIDATION_EXCLUSIVE_MINIMUM = 4000019
    ERR_VALIDATION_MAXIMUM = 4000020
    ERR_VALIDATION_EXCLUSIVE_MAXIMUM = 4000021
    ERR_VALIDATION_MULTIPLE_OF = 4000022
    ERR_VALIDATION_MAX_ITEMS = 4000023
    ERR_VALIDATION_MIN_ITEMS = 4000024
    ERR_VALIDATION_UNIQUE_ITEMS = 4000025
    ERR_VALIDATION_TYPE = 4000026
    ERR_VALIDATION_CONST = 4000029
    ERR_PASSWORD_SIMILAR = 4000031
    ERR_PASSWORD_TOO_SHORT = 4000032
    ERR_PASSWORD_TOO_LONG = 4000033
    ERR_PASSWORD_BREACHED = 4000034
    ERR_LOGIN_FLOW_EXPIRED = 4010001
    ERR_LOGIN_NO_STRATEGY = 4010002
    ERR_REGISTRATION_NO_STRATEGY = 4010003
    ERR_LOGIN_COMPLETED = 4010007
    ERR_REGISTRATION_FLOW_EXPIRED = 4040001
    ERR_REGISTRATION_COMPLETED = 4040002
    ERR_SYSTEM = 5000001
    INFO_RECOVERY_SUCCESSFUL = 1060001
    INFO_RECOVERY_LINK_SENT = 1060002
    INFO_RECOVERY_CODE_SENT = 1060003
    LABEL_EMAIL = 1070007
    LABEL_RESEND_CODE = 1070008
    LABEL_RECOVERY_CODE = 1070010
    LABEL_VERIFICATION_CODE = 1070011
    INFO_VERIFICATION_LINK_SENT = 1080001
    INFO_VERIFICATION_SUCCESSFUL = 1080002
    INFO_VERIFICATION_CODE_SENT = 1080003
    ERR_ADDRESS_NOT_VERIFIED = 4000010
    ERR_RECOVERY_NO_STRATEGY = 4010005
    ERR_VERIFICATION_NO_STRATEGY = 4010006
    ERR_RECOVERY_COMPLETED = 4060001
    ERR_RECOVERY_TOKEN_INVALID = 4060004
    ERR_RECOVERY_FLOW_EXPIRED = 4060005
    ERR_RECOVERY_CODE_INVALID = 4060006
    ERR_VERIFICATION_TOKEN_INVALID = 4070001
    ERR_VERIFICATION_COMPLETED = 4070002
    ERR_VERIFICATION_FLOW_EXPIRED = 4070005
    ERR_VERIFICATION_CODE_INVALID = 4070006


def text(msg: Msg, message: str, kind: str = "info", **context: Any) -> dict[str, Any]:
    """A uiText: `{id, text, type, context?}` (context omitted when empty, as Kratos)."""
    out: dict[str, Any] = {"id": int(msg), "text": message, "type": kind}
    if context:
        out["context"] = context
    return out


def error(msg: Msg, message: str, **context: Any) -> dict[str, Any]:
    return text(msg, message, "error", **context)


# -- labels and buttons --------------------------------------------------------------------------

def login_password_button() -> dict[str, Any]:
    return text(Msg.INFO_LOGIN_PASSWORD, "Sign in with password")


def registration_button() -> dict[str, Any]:
    return text(Msg.INFO_REGISTRATION, "Sign up")


def back_button() -> dict[str, Any]:
    return text(Msg.INFO_REGISTRATION_BACK, "Back")


def choose_credentials() -> dict[str, Any]:
    return text(Msg.INFO_REGISTRATION_CHOOSE_CREDENTIALS, "Please choose a credential to authenticate yourself with.")


def password_label() -> dict[str, Any]:
    return text(Msg.LABEL_PASSWORD, "Password")


def continue_button() -> dict[str, Any]:
    return text(Msg.LABEL_CONTINUE, "Continue")


def id_label() -> dict[str, Any]:
    return text(Msg.LABEL_ID, "ID")


def generated_label(title: str, name: str) -> dict[str, Any]:
    return text(Msg.LABEL_GENERATED, title, title=title, name=name)


def reauthenticate() -> dict[str, Any]:
    return text(Msg.INFO_LOGIN_REAUTH, "Please confirm this action by verifying that it is you.")


# -- errors ---------------------------------------------------------------------------------------

def invalid_credentials() -> dict[str, Any]:
    return error(Msg.ERR_INVALID_CREDENTIALS, "The provided credentials are invalid, check for spelling mistakes "
                 "in your password or username, email address, or phone number.")


def duplicate_credentials() -> dict[str, Any]:
    return error(Msg.ERR_DUPLICATE_CREDENTIALS,
                 "An account with the same identifier (email, phone, username, ...) exists already.")


def identifier_missing() -> dict[str, Any]:
    return error(Msg.ERR_IDENTIFIER_MISSING, "Could not find any login identifiers. Did you forget to set them? "
                 "This could also be caused by a server misconfiguration.")


def required(prop: str) -> dict[str, Any]:
    return error(Msg.ERR_VALIDATION_REQUIRED, f"Property {prop} is missing.", property=prop)


def generic(reason: str) -> dict[str, Any]:
    return error(Msg.ERR_VALIDATION_GENERIC, reason, reason=reason)


def password_too_short(min_length: int, actual: int) -> dict[str, Any]:
    return error(Msg.ERR_PASSWORD_TOO_SHORT,
                 f"The password must be at least {min_length} characters long, but got {actual}.",
                 min_length=min_length, actual_length=actual)


def password_too_long(max_length: int, actual: int) -> dict[str, Any]:
    return error(Msg.ERR_PASSWORD_TOO_LONG,
                 f"The password must be at most {max_length} characters long, but got {actual}.",
                 max_length=max_length, actual_length=actual)


def password_similar() -> dict[str, Any]:
    return error(Msg.ERR_PASSWORD_SIMILAR, "The password can not be used because it is too similar to the "
                 "identifier.")


def password_breached(breaches: int) -> dict[str, Any]:
    return error(Msg.ERR_PASSWORD_BREACHED, "The password has been found in data breaches and must no longer be "
                 "used.", breaches=breaches)


def password_policy(reason: str) -> dict[str, Any]:
    return error(Msg.ERR_VALIDATION_PASSWORD_POLICY,
                 f"The password can not be used because {reason}.", reason=reason)


_EXPIRED = {"login": Msg.ERR_LOGIN_FLOW_EXPIRED, "recovery": Msg.ERR_RECOVERY_FLOW_EXPIRED,
            "verification": Msg.ERR_VERIFICATION_FLOW_EXPIRED}
_COMPLETED = {"login": Msg.ERR_LOGIN_COMPLETED, "recovery": Msg.ERR_RECOVERY_COMPLETED,
              "verification": Msg.ERR_VERIFICATION_COMPLETED}


def flow_expired(kind: str, expired_at: str, expired_unix: int, ago_minutes: float) -> dict[str, Any]:
    msg = _EXPIRED.get(kind, Msg.ERR_REGISTRATION_FLOW_EXPIRED)
    what = kind if kind in _EXPIRED else "registration"
    return error(msg, f"The {what} flow expired {ago_minutes:.2f} minutes ago, please try again.",
                 expired_at=expired_at, expired_at_unix=expired_unix)


def no_strategy(kind: str) -> dict[str, Any]:
    if kind in ("recovery", "verification"):
        msg = Msg.ERR_RECOVERY_NO_STRATEGY if kind == "recovery" else Msg.ERR_VERIFICATION_NO_STRATEGY
        what = "recover your account" if kind == "recovery" else "verify your account"
        return error(msg, f"Could not find a strategy to {what} with. Did you fill out the form correctly?")
    if kind == "login":
        return error(Msg.ERR_LOGIN_NO_STRATEGY, "Could not find a strategy to log you in with. Did you fill out the "
                     "form correctly?")
    return error(Msg.ERR_REGISTRATION_NO_STRATEGY, "Could not find a strategy to sign you up with. Did you fill "
                 "out the form correctly?")


def csrf_restart() -> dict[str, Any]:
    reason = ("Your form could not be verified (it may have been open too long, or sent from another site). "
              "Please try again.")
    return generic(reason)


def too_many_attempts(retry_after: int) -> dict[str, Any]:
    reason = f"Too many sign-in attempts. Please wait {retry_after} seconds and try again."
    return generic(reason)


def already_completed(kind: str) -> dict[str, Any]:
    msg = _COMPLETED.get(kind, Msg.ERR_REGISTRATION_COMPLETED)
    return error(msg, "The request was already completed successfully and can not be retried.")


# -- verification and recovery (code and link methods) -------------------------------------------------

def email_label() -> dict[str, Any]:
    return text(Msg.LABEL_EMAIL, "Email")


def resend_code_button() -> dict[str, Any]:
    return text(Msg.LABEL_RESEND_CODE, "Resend code")


def recovery_code_label() -> dict[str, Any]:
    return text(Msg.LABEL_RECOVERY_CODE, "Recovery code")


def verification_code_label() -> dict[str, Any]:
    return text(Msg.LABEL_VERIFICATION_CODE, "Verification code")


def code_sent(kind: str) -> dict[str, Any]:
    if kind == "recovery":
        return text(Msg.INFO_RECOVERY_CODE_SENT, "An email containing a recovery code has been sent to the email "
                    "address you provided. If you have not received an email, check the spelling of the address and "
                    "make sure to use the address you registered with.")
    return text(Msg.INFO_VERIFICATION_CODE_SENT, "An email containing a verification code has been sent to the email "
                "address you provided. If you have not received an email, check the spelling of the address and make "
                "sure to use the address you registered with.")


def link_sent(kind: str) -> dict[str, Any]:
    if kind == "recovery":
        return text(Msg.INFO_RECOVERY_LINK_SENT, "An email containing a recovery link has been sent to the email "
                    "address you provided. If you have not received an email, check the spelling of the address and "
                    "make sure to use the address you registered with.")
    return text(Msg.INFO_VERIFICATION_LINK_SENT, "An email containing a verification link has been sent to the email "
                "address you provided. If you have not received an email, check the spelling of the address and make "
                "sure to use the address you registered with.")


def code_invalid(kind: str) -> dict[str, Any]:
    if kind == "recovery":
        return error(Msg.ERR_RECOVERY_CODE_INVALID, "The recovery code is invalid or has already been used. Please "
                     "try again.")
    return error(Msg.ERR_VERIFICATION_CODE_INVALID, "The verification code is invalid or has already been used. "
                 "Please try again.")


def token_invalid(kind: str) -> dict[str, Any]:
    if kind == "recovery":
        return error(Msg.ERR_RECOVERY_TOKEN_INVALID, "The recovery token is invalid or has already been used. Please "
                     "retry the flow.")
    return error(Msg.ERR_VERIFICATION_TOKEN_INVALID, "The verification token is invalid or has already been used. "
                 "Please retry the flow.")


def verification_successful() -> dict[str, Any]:
    return text(Msg.INFO_VERIFICATION_SUCCESSFUL, "You successfully verified your email address.", "success")


def recovery_successful(expires_at: str, expires_unix: int, minutes: int) -> dict[str, Any]:
    return text(Msg.INFO_RECOVERY_SUCCESSFUL, f"You successfully recovered your account. Please change your password "
                f"or set up an alternative login method (e.g. social sign in) within the next {minutes} minutes.",
                "success", privileged_session_expires_at=expires_at, privileged_session_expires_at_unix=expires_unix)


def address_not_verified() -> dict[str, Any]:
    return error(Msg.ERR_ADDRESS_NOT_VERIFIED, "Account not active yet. Did you forget to verify your email address?")


# -- social sign-in (oidc) ---------------------------------------------------------------------------

def login_with(label: str, provider_id: str) -> dict[str, Any]:
    return text(Msg.INFO_LOGIN_WITH, f"Sign in with {label}", provider=label, provider_id=provider_id)


def registration_with(label: str, provider_id: str) -> dict[str, Any]:
    return text(Msg.INFO_REGISTRATION_WITH, f"Sign up with {label}", provider=label, provider_id=provider_id)


def registration_continue() -> dict[str, Any]:
    return text(Msg.INFO_REGISTRATION_CONTINUE, "Continue")


def login_with_and_link(label: str) -> dict[str, Any]:
    return text(Msg.INFO_LOGIN_WITH_AND_LINK, f"Confirm with {label}", provider=label)


def login_link(duplicate: str, provider: str, new_login_url: str, credential_types: list[str],
               providers: list[str]) -> dict[str, Any]:
    return text(Msg.INFO_LOGIN_LINK, f"You tried to sign in with {_quote(duplicate)}, but that email is already used "
                f"by another account. Sign in to your account with one of the options below to add your account "
                f"{_quote(duplicate)} at {_quote(provider)} as another way to sign in.",
                duplicateIdentifier=duplicate, provider=provider, newLoginUrl=new_login_url,
                duplicate_identifier=duplicate, new_login_url=new_login_url,
                available_credential_types=credential_types, available_providers=providers)


def link_oidc(label: str) -> dict[str, Any]:
    return text(Msg.INFO_SETTINGS_LINK_OIDC, f"Link {label}", provider=label)


def unlink_oidc(label: str) -> dict[str, Any]:
    return text(Msg.INFO_SETTINGS_UNLINK_OIDC, f"Unlink {label}", provider=label)


def duplicate_on_oidc_link() -> dict[str, Any]:
    return error(Msg.ERR_DUPLICATE_ON_OIDC_LINK, "An account with the same identifier (email, phone, username, ...) "
                 "exists already. Please sign in to your existing account to link your social profile.")


def linked_credentials_mismatch() -> dict[str, Any]:
    return error(Msg.ERR_LOGIN_LINKED_CREDENTIALS_MISMATCH, "Linked credentials do not match.")


def _quote(value: str) -> str:
    """Go's %q for the plain strings these messages carry."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
