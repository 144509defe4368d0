"""The Kratos half: identities, self-service flows, sessions, courier (settings, recovery, MFA come later)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from gatekeeper.app import App
    from gatekeeper.http.kratos.public import PublicApi
    from gatekeeper.identity.courier import Courier
    from gatekeeper.identity.flows.settings import SettingsFlows
    from gatekeeper.identity.service import IdentityContext

log = logging.getLogger("gatekeeper.identity")


async def build_context(app: App) -> IdentityContext:
    """Every identity service over the app's store, config and HTTP client."""
    from gatekeeper.identity.identities import Identities
    from gatekeeper.identity.metrics import IdentityMetrics
    from gatekeeper.identity.passwords import BreachedPasswords, Hasher, PasswordPolicy
    from gatekeeper.identity.returnto import ReturnToPolicy
    from gatekeeper.identity.schemas import SchemaRegistry
    from gatekeeper.identity.service import IdentityContext, public_base_url
    from gatekeeper.identity.sessions import Sessions

    config = app.config
    base = public_base_url(config)
    schemas = await SchemaRegistry.load(config.identity, app.http)
    identities = Identities(app.store, schemas, base)
    hasher = Hasher(config.hashers, dev=config.dev)
    metrics = IdentityMetrics(app.metrics.registry)
    hasher.observe = lambda operation, seconds: metrics.hashing.labels(operation).observe(seconds)
    pw = config.selfservice.methods.password.config
    policy = PasswordPolicy(pw, hasher, BreachedPasswords(pw, app.http))
    ss = config.selfservice
    default_return = ss.default_browser_return_url or f"{base}/ui/welcome"
    allowed = [*ss.allowed_return_urls, default_return, f"{base}/"]
    ctx = IdentityContext(config=config, store=app.store, schemas=schemas, identities=identities,
                          sessions=Sessions(config, app.store, identities), hasher=hasher, policy=policy,
                          return_to=ReturnToPolicy(allowed, default_return), public_base_url=base,
                          metrics=metrics)
    _warn_unsupported(ctx)
    return ctx


def _warn_unsupported(ctx: IdentityContext) -> None:
    """Say which configured features this version does not act on yet (instead of ignoring them silently)."""
    from gatekeeper.identity.hooks import SUPPORTED

    flows = ctx.config.selfservice.flows
    for name, after in (("login", flows.login.after), ("registration", flows.registration.after),
                        ("recovery", flows.recovery.after), ("verification", flows.verification.after)):
        for method in ("password", "profile", "code", "link"):
            for hook in after.for_method(method).hooks:
                if hook.hook not in SUPPORTED:
                    log.warning("hook not supported yet, ignored",
                                extra={"flow": name, "method": method, "hook": hook.hook})


async def setup(app: App) -> None:
    """Register the public API + built-in UI routes and the cached session source on `app`."""
    from gatekeeper.http import cors
    from gatekeeper.http.kratos.public import PublicApi
    from gatekeeper.http.ui.routes import WebUi
    from gatekeeper.identity.cleanup import Cleanup
    from gatekeeper.identity.courier import setup_courier
    from gatekeeper.identity.flows.login import LoginFlows
    from gatekeeper.identity.flows.registration import RegistrationFlows
    from gatekeeper.identity.revocation import RevocationBroadcast

    ctx = await build_context(app)
    flows: dict[str, Any] = {"login": LoginFlows(ctx), "registration": RegistrationFlows(ctx)}
    courier = await setup_courier(app)  # the outbox worker runs with the server
    _address_flows(app, ctx, flows, courier)
    app.extensions["identity"] = ctx
    app.session_source = ctx.sessions
    ctx.sessions.instrument(app.metrics.registry)
    app.services.append(Cleanup.from_config(app.store, app.config, registry=app.metrics.registry))
    # subscribers (the proxy's long-lived connections) add theirs to the same list: see proxy/live.py
    revoked = app.extensions.setdefault("on_sessions_revoked", [])
    revoked.insert(0, lambda hashes: ctx.sessions.forget(*hashes))
    app.services.append(RevocationBroadcast(app.store, revoked, ctx.sessions.forget_all, app.metrics.registry))
    settings = flows["settings"] = _settings_flows(app, ctx)
    public = PublicApi(ctx, flows)
    routes = [*public.routes(), *WebUi(ctx, flows).routes(), *_settings_routes(ctx, public, settings)]
    from gatekeeper.identity import oidc

    routes.extend(await oidc.setup(app, ctx, flows, public))  # social sign-in, when enabled
    app.routes["public"].extend(cors.apply(routes, cors.parse(app.config.serve.public.cors, app.config.source)))
    from gatekeeper.http.kratos.admin import register as register_admin

    register_admin(app, ctx)  # admin API and admin UI on the admin listener, OpenAPI documents on both


def _address_flows(app: App, ctx: IdentityContext, flows: dict[str, Any], courier: Courier) -> None:
    """Verification and recovery flows, and the after-hooks (app.extensions["verification"] is the service
    that sends verification codes for other flows: `await send_code(identity_record, address)`)."""
    from gatekeeper.identity.flows.recovery import RecoveryFlows
    from gatekeeper.identity.flows.verification import VerificationFlows
    from gatekeeper.identity.hooks import Hooks, install

    verification = VerificationFlows(ctx, courier)
    recovery = RecoveryFlows(ctx, courier, flows)
    hooks = Hooks(ctx, app.http, verification)
    verification.hooks = recovery.hooks = hooks
    flows["verification"], flows["recovery"] = verification, recovery
    app.extensions["verification"] = verification
    app.extensions["hooks"] = hooks
    install(hooks, flows, verification)


def _settings_flows(app: App, ctx: IdentityContext) -> SettingsFlows:
    """The settings flow (profile, password, TOTP, lookup codes); a changed verifiable address gets a code from
    `app.extensions["verification"]` when that service is installed."""
    from gatekeeper.identity.flows.settings import SettingsFlows

    return SettingsFlows(ctx, app.extensions)


def _settings_routes(ctx: IdentityContext, public: PublicApi, settings: SettingsFlows) -> list[BaseRoute]:
    from gatekeeper.http.kratos.settings import SettingsApi
    from gatekeeper.http.ui.settings import SettingsPage

    return [*SettingsApi(public, settings).routes(), *SettingsPage(ctx, settings).routes()]
