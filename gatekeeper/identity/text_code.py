"""Message ids and texts of sign-in and sign-up with a one-time code (Kratos' text/message_login.go,
message_registration.go and message_node.go, the `code` parts), in the catalog's `text()` shape."""

from __future__ import annotations

from enum import IntEnum
from typing import Any, cast

from gatekeeper.identity.text import Msg, error, text


class CodeMsg(IntEnum):
    INFO_LOGIN_CODE_SENT = 1010014
    INFO_LOGIN_CODE = 1010015
    INFO_REGISTRATION_CODE_SENT = 1040005
    INFO_REGISTRATION_CODE = 1040006
    LABEL_REGISTRATION_CODE = 1070012
    LABEL_LOGIN_CODE = 1070013
    ERR_TRAITS_MISMATCH = 4000036
    ERR_LOGIN_CODE_INVALID = 4010008
    ERR_LOGIN_ADDRESS_UNKNOWN = 4010010
    ERR_NO_CODE_USER = 4000035
    INFO_LOGIN_CODE_TO_ADDRESS = 1010023
    ERR_REGISTRATION_CODE_INVALID = 4040003


def _msg(msg: CodeMsg) -> Msg:
    return cast(Msg, msg)  # the catalog's helpers take any int-valued message id


def login_code_button() -> dict[str, Any]:
    return text(_msg(CodeMsg.INFO_LOGIN_CODE), "Send sign in code")


def registration_code_button() -> dict[str, Any]:
    return text(_msg(CodeMsg.INFO_REGISTRATION_CODE), "Send sign up code")


def login_code_label() -> dict[str, Any]:
    return text(_msg(CodeMsg.LABEL_LOGIN_CODE), "Login code")


def registration_code_label() -> dict[str, Any]:
    return text(_msg(CodeMsg.LABEL_REGISTRATION_CODE), "Registration code")


def login_code_sent() -> dict[str, Any]:
    return text(_msg(CodeMsg.INFO_LOGIN_CODE_SENT), "A code was sent to the address you provided. If you didn't "
                "receive it, please check the spelling of the address and try again.")


def registration_code_sent() -> dict[str, Any]:
    return text(_msg(CodeMsg.INFO_REGISTRATION_CODE_SENT), "A code has been sent to the address(es) you provided. "
                "If you have not received a message, check the spelling of the address and retry the registration.")


def login_code_invalid() -> dict[str, Any]:
    return error(_msg(CodeMsg.ERR_LOGIN_CODE_INVALID),
                 "The login code is invalid or has already been used. Please try again.")


def registration_code_invalid() -> dict[str, Any]:
    return error(_msg(CodeMsg.ERR_REGISTRATION_CODE_INVALID),
                 "The registration code is invalid or has already been used. Please try again.")


def send_code_to(channel: str, address: str) -> dict[str, Any]:
    return text(_msg(CodeMsg.INFO_LOGIN_CODE_TO_ADDRESS), f"Send code to {address}", address=address,
                channel=channel)


def address_unknown() -> dict[str, Any]:
    return error(_msg(CodeMsg.ERR_LOGIN_ADDRESS_UNKNOWN),
                 "The address you entered does not match any known addresses in the current account.")


def no_code_user() -> dict[str, Any]:
    return error(_msg(CodeMsg.ERR_NO_CODE_USER), "This account does not exist or has not setup sign in with code.")


def traits_mismatch() -> dict[str, Any]:
    return error(_msg(CodeMsg.ERR_TRAITS_MISMATCH),
                 "The provided traits do not match the traits previously associated with this flow.")
