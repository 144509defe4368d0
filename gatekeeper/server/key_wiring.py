"""The passkey and webauthn methods, built for the flows. Only `cli.runtime.optional_parts` imports this module, and
only when one of them is enabled: it is what loads py_webauthn."""

from __future__ import annotations

from gatekeeper.identity.context import IdentityContext
from gatekeeper.identity.strategies.passkey import PasskeyStrategy
from gatekeeper.identity.strategies.passkey_settings import PasskeySettings
from gatekeeper.identity.strategies.webauthn import WebauthnSecondFactor, WebauthnStrategy
from gatekeeper.identity.strategies.webauthn_settings import WebauthnSettings
from gatekeeper.server.optional_parts import KeyMethods


def build_keys(ctx: IdentityContext) -> KeyMethods:
    """The enabled methods: passkeys, security keys (a first factor when passwordless, else a second one)."""
    methods = ctx.config.selfservice.methods
    passkey = [PasskeyStrategy(ctx)] if methods.passkey.enabled else []
    keys = [WebauthnStrategy(ctx)] if methods.webauthn.enabled else []
    return KeyMethods(login=[*passkey, *keys], registration=[*passkey, *keys],
                      settings=[*(PasskeySettings(ctx, p) for p in passkey), *(WebauthnSettings(ctx, k) for k in keys)],
                      second_factors=[WebauthnSecondFactor(k) for k in keys if not k.passwordless])
