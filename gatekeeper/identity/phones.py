"""Phone numbers as identifiers and addresses: E.164 (`+14155550100`), as Kratos normalises them."""

from __future__ import annotations

import phonenumbers


def e164(value: str) -> str | None:
    """`value` in E.164 when it is a possible international number (leading `+`), else None."""
    try:
        number = phonenumbers.parse(value.strip(), None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def normalise_address(via: str, value: str) -> str:
    """An address as stored and looked up: `sms` numbers in E.164 (kept as typed when not a number), the rest
    trimmed and lower-cased."""
    if via == "sms":
        return e164(value) or value.strip()
    return value.strip().lower()


def graceful(value: str) -> str:
    """An identifier typed at sign-in, either kind (Kratos' GracefulNormalization): a number in E.164, an
    e-mail address (or name) trimmed and lower-cased."""
    if "@" not in value:
        number = e164(value)
        if number is not None:
            return number
    return value.strip().lower()


def channel_of(address: str) -> str:
    """`sms` for an E.164 number, else `email`."""
    return "sms" if address.startswith("+") and e164(address) == address else "email"
