"""Kratos' `selfservice.methods.passkey` and `selfservice.methods.webauthn` blocks: the relying party (RP) and,
for security keys, whether they are a first factor (`passwordless`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RelyingParty:
    """`config.rp`: the RP ID (a registrable domain of the pages' host), its display name and the origins a
    browser may sign for (default: the public base URL's origin when its host is the RP ID, else its scheme +
    `://` + the RP ID, as Kratos)."""

    id: str = ""
    display_name: str = ""
    origins: tuple[str, ...] = ()


@dataclass(frozen=True)
class SecurityKeyRelyingParty(RelyingParty):
    """The webauthn method's RP also takes Kratos' deprecated single `origin`."""

    origin: str = ""


@dataclass(frozen=True)
class PasskeyConfig:
    rp: RelyingParty = field(default_factory=RelyingParty)


@dataclass(frozen=True)
class PasskeyMethod:
    enabled: bool = False
    config: PasskeyConfig = field(default_factory=PasskeyConfig)


@dataclass(frozen=True)
class WebauthnConfig:
    rp: SecurityKeyRelyingParty = field(default_factory=SecurityKeyRelyingParty)
    passwordless: bool = False


@dataclass(frozen=True)
class WebauthnMethod:
    enabled: bool = False
    config: WebauthnConfig = field(default_factory=WebauthnConfig)


def check_webauthn(passkey: PasskeyMethod | None, webauthn: WebauthnMethod | None,
                   add: Callable[[str, str], None]) -> None:
    """An enabled method needs its RP ID and display name (Kratos' config schema requires both)."""
    for name, method in (("passkey", passkey), ("webauthn", webauthn)):
        if method is None or not method.enabled or method.config is None or method.config.rp is None:
            continue
        at = f"selfservice.methods.{name}.config.rp"
        for key in ("id", "display_name"):
            if not getattr(method.config.rp, key):
                add(f"{at}.{key}", f"is required when selfservice.methods.{name}.enabled is true")
