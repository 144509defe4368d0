"""The parts of a server whose libraries are heavy and that only some configs ask for: the OpenTelemetry tracer
(`tracing.provider: otel`, the OTel SDK and protobuf) and the passkey and webauthn methods (py_webauthn). A command
in cli/ imports them only when the config asks for them and hands them to the composition root as `OptionalParts`,
so a server without them never loads those libraries (tens of MiB of modules in every worker)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gatekeeper.config import Config
from gatekeeper.config.tracing import Tracing
from gatekeeper.identity.context import IdentityContext
from gatekeeper.identity.ports import LoginMethod, RegistrationMethod, SettingsMethod
from gatekeeper.observe.tracing import Tracer


class PartMissing(RuntimeError):
    """The config asks for a part the command did not hand to the server (a mistake of the command, not the
    user's)."""


@dataclass(frozen=True)
class KeyMethods:
    """The passkey and webauthn methods, as the flows take them (the enabled ones)."""

    login: Sequence[LoginMethod] = ()
    registration: Sequence[RegistrationMethod] = ()
    settings: Sequence[SettingsMethod] = ()
    second_factors: Sequence[Any] = ()  # security keys as a second factor (webauthn, not passwordless)


OtelFactory = Callable[[Tracing], Tracer]  # observe.otel.OtelTracer
KeyWiring = Callable[[IdentityContext], KeyMethods]  # server.key_wiring.build_keys


@dataclass(frozen=True)
class OptionalParts:
    otel: OtelFactory | None = None
    keys: KeyWiring | None = None


def keys_enabled(config: Config) -> bool:
    """Whether the passkey or the webauthn method is on (py_webauthn is needed)."""
    methods = config.selfservice.methods
    return methods.passkey.enabled or methods.webauthn.enabled
