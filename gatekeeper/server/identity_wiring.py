"""The identity domain, built in dependency order: context, courier, hooks, flows with their strategies,
social sign-in, the admin service, housekeeping."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import httpx

from gatekeeper.config import Config
from gatekeeper.identity.admin import AdminService
from gatekeeper.identity.admin_recovery import AdminRecovery
from gatekeeper.identity.cleanup import Cleanup
from gatekeeper.identity.context import IdentityContext, public_base_url
from gatekeeper.identity.courier import Courier
from gatekeeper.identity.flows.bundle import FlowHandlers
from gatekeeper.identity.flows.login import LoginFlows
from gatekeeper.identity.flows.recovery import RecoveryFlows
from gatekeeper.identity.flows.registration import RegistrationFlows
from gatekeeper.identity.flows.settings import SettingsFlows
from gatekeeper.identity.flows.verification import VerificationFlows
from gatekeeper.identity.hooks import SUPPORTED, FlowHooks, WebHooks
from gatekeeper.identity.identities import Identities
from gatekeeper.identity.metrics import IdentityMetrics
from gatekeeper.identity.oidc.refresh import TokenRefresher
from gatekeeper.identity.oidc.service import SocialSignIn
from gatekeeper.identity.passwords import BreachedPasswords, Hasher, PasswordPolicy
from gatekeeper.identity.returnto import ReturnToPolicy
from gatekeeper.identity.schemas import SchemaRegistry
from gatekeeper.identity.sessions import Sessions
from gatekeeper.identity.strategies.code_login import CodeLoginStrategy
from gatekeeper.identity.strategies.code_mfa import CodeSecondFactor
from gatekeeper.identity.strategies.code_registration import CodeRegistrationStrategy
from gatekeeper.identity.strategies.oidc import OidcStrategy
from gatekeeper.identity.tokenizer import SessionTokenizer
from gatekeeper.identity.whoami import Whoami
from gatekeeper.jwks import JwksCache
from gatekeeper.observe import Metrics
from gatekeeper.observe.tracing import Tracer
from gatekeeper.server.optional_parts import KeyMethods, KeyWiring, PartMissing, keys_enabled
from gatekeeper.store import Store

log = logging.getLogger("gatekeeper.identity")


@dataclass(frozen=True)
class IdentityServices:
    """What the identity domain offers the adapters and the server."""

    ctx: IdentityContext
    flows: FlowHandlers
    courier: Courier
    admin: AdminService
    admin_recovery: AdminRecovery
    social: SocialSignIn | None
    token_refresher: TokenRefresher | None  # a service while social sign-in is on
    cleanup: Cleanup
    whoami: Whoami


async def build_context(config: Config, store: Store, http: httpx.AsyncClient, metrics: Metrics,
                        tracer: Tracer) -> IdentityContext:
    """Every identity service over the store, config and control-plane HTTP client."""
    base = public_base_url(config)
    schemas = await SchemaRegistry.load(config.identity, http)
    identities = Identities(store, schemas, base)
    identity_metrics = IdentityMetrics(metrics.registry)
    hashing = {"gatekeeper.hasher.algorithm": config.hashers.algorithm}

    def observe_hashing(operation: str, seconds: float) -> None:
        identity_metrics.hashing.labels(operation).observe(seconds)
        tracer.record(f"password.{operation}", seconds, hashing)

    hasher = Hasher(config.hashers, dev=config.dev, observe=observe_hashing)
    pw = config.selfservice.methods.password.config
    policy = PasswordPolicy(pw, hasher, BreachedPasswords(pw, http))
    ss = config.selfservice
    default_return = ss.default_browser_return_url or f"{base}/ui/welcome"
    allowed = [*ss.allowed_return_urls, default_return, f"{base}/"]
    return IdentityContext(config=config, store=store, schemas=schemas, identities=identities,
                           sessions=Sessions(config, store, identities, metrics.registry), hasher=hasher,
                           policy=policy, return_to=ReturnToPolicy(allowed, default_return), public_base_url=base,
                           metrics=identity_metrics)


def build_courier(config: Config, store: Store, metrics: Metrics, store_connected: asyncio.Event,
                  tracer: Tracer) -> Courier:
    """The outbox and its delivery worker (`courier.worker` is a service to start)."""
    return Courier(config, store, registry=metrics.registry, ready=store_connected, tracer=tracer)


async def build_identity(config: Config, store: Store, http: httpx.AsyncClient, metrics: Metrics,
                         store_connected: asyncio.Event, jwks: JwksCache, tracer: Tracer,
                         keys: KeyWiring | None) -> IdentityServices:
    """`jwks`: the key sets the session tokenizer signs with (shared with the access domain); `keys`: builds the
    passkey and webauthn methods (needed when one is enabled)."""
    if keys is None and keys_enabled(config):
        raise PartMissing("the passkey or webauthn method is enabled but its wiring was not handed to the server")
    ctx = await build_context(config, store, http, metrics, tracer)
    _warn_unsupported(ctx)
    courier = build_courier(config, store, metrics, store_connected, tracer)
    web_hooks = WebHooks(ctx, http)
    verification = VerificationFlows(ctx, courier, web_hooks)
    hooks = FlowHooks(web_hooks, verification)
    flows: FlowHandlers | None = None

    def flow_handlers() -> FlowHandlers:
        assert flows is not None, "social sign-in used before the flow handlers were built"
        return flows

    social = await SocialSignIn.build(ctx, http, flow_handlers, metrics.registry) \
        if config.selfservice.methods.oidc.enabled else None
    oidc = [OidcStrategy(social)] if social is not None else []
    key = keys(ctx) if keys is not None else KeyMethods()
    settings = SettingsFlows(ctx, verification, methods=[*oidc, *key.settings])
    code = config.selfservice.methods.code
    passwordless, code_mfa = code.enabled and code.passwordless_enabled, code.enabled and code.mfa_enabled
    code_sender = CodeLoginStrategy(ctx, courier)
    code_login = [code_sender] if passwordless else []
    code_registration = [CodeRegistrationStrategy(ctx, courier)] if passwordless else []
    code_second = [CodeSecondFactor(code_sender)] if code_mfa else []
    flows = FlowHandlers(login=LoginFlows(ctx, hooks, methods=[*oidc, *key.login, *code_login],
                                          second_factors=[*key.second_factors, *code_second]),
                         registration=RegistrationFlows(ctx, hooks, methods=[*oidc, *key.registration,
                                                                             *code_registration]),
                         settings=settings,
                         verification=verification, recovery=RecoveryFlows(ctx, courier, web_hooks, settings))
    # the admin API creates recovery flows of its own: no hooks, no settings flow
    admin_recovery = AdminRecovery(RecoveryFlows(ctx, courier) if config.selfservice.flows.recovery.enabled else None)
    tokenizer = await SessionTokenizer.build(config, jwks, http, issuer=ctx.public_base_url + "/")
    return IdentityServices(ctx=ctx, flows=flows, courier=courier, admin=AdminService(ctx),
                            admin_recovery=admin_recovery, social=social,
                            token_refresher=TokenRefresher(store, social.providers, social.tokens, metrics.registry)
                            if social is not None else None,
                            cleanup=Cleanup.from_config(store, config, registry=metrics.registry),
                            whoami=Whoami(ctx.sessions, tokenizer, cookie_name=config.session.cookie.name,
                                          highest_available=config.session.whoami.required_aal == "highest_available",
                                          public_base_url=ctx.public_base_url))


def _warn_unsupported(ctx: IdentityContext) -> None:
    """Say which configured hooks this version does not act on (instead of ignoring them silently)."""
    flows = ctx.config.selfservice.flows
    for name, after in (("login", flows.login.after), ("registration", flows.registration.after),
                        ("recovery", flows.recovery.after), ("verification", flows.verification.after)):
        for method in ("password", "profile", "code", "link"):
            for hook in after.for_method(method).hooks:
                if hook.hook not in SUPPORTED:
                    log.warning("hook not supported yet, ignored",
                                extra={"flow": name, "method": method, "hook": hook.hook})
