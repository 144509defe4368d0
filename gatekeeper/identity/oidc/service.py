"""Social sign-in: send the browser to the provider (a sealed, single-use `state`; nonce and PKCE verifier kept
on the flow), and on the callback turn verified claims into a login, or a registration (mapped traits,
schema-validated; missing traits continue the registration form); an address that belongs to an account goes
to linking.py. Native apps submit the provider's id_token instead of being redirected."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NoReturn

import httpx
from prometheus_client import CollectorRegistry, Counter

from gatekeeper.config.problems import ConfigError, ConfigProblem
from gatekeeper.errors import BadRequest, GatekeeperError, NotFound, UniqueViolation
from gatekeeper.identity import text, token_exchange
from gatekeeper.identity.client import ClientInfo
from gatekeeper.identity.context import IdentityContext
from gatekeeper.identity.errors import FlowDisabled
from gatekeeper.identity.flows.base import Flow, FlowType, ValidationFailed
from gatekeeper.identity.flows.bundle import FlowHandlers
from gatekeeper.identity.flows.handler import Current, FlowHandler
from gatekeeper.identity.oidc import tokens as oidc_tokens
from gatekeeper.identity.oidc.continuity import LIFETIME, Sealer
from gatekeeper.identity.oidc.errors import BrowserLocationChangeRequired, OidcFailed
from gatekeeper.identity.oidc.linking import CallbackResult, Linking
from gatekeeper.identity.oidc.mapper import Mapped, Mapper, merge
from gatekeeper.identity.oidc.providers import PROVIDERS, Provider
from gatekeeper.identity.oidc.sync import update_from_claims
from gatekeeper.identity.ui import Group, Node, csrf_node, find, submit_node
from gatekeeper.store.identities import CredentialRecord, IdentityRecord
from gatekeeper.store.sessions import SessionRecord

CALLBACK = "/self-service/methods/oidc/callback/{provider}"

log = logging.getLogger("gatekeeper.identity.oidc")


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


class SocialSignIn(Linking):
    """The configured providers with their mappers.

    `flows` returns the flow handlers: the oidc strategy is part of the login and registration handlers and,
    to link an account, creates a login flow itself, so the handlers exist only after it; calling `flows()`
    at use breaks that one cycle."""

    def __init__(self, ctx: IdentityContext, providers: dict[str, Provider], mappers: dict[str, Mapper],
                 flows: Callable[[], FlowHandlers], registry: CollectorRegistry) -> None:
        self.ctx, self.providers, self.mappers, self.flows = ctx, providers, mappers, flows
        self.continuity = Sealer(ctx.config, b"oidc continuity")
        self.tokens = Sealer(ctx.config, b"oidc tokens")
        self.callbacks = Counter("gatekeeper_social_sign_in_total", "Social sign-in callbacks by provider and result "
                                 "(signed_in, registered, traits_required, link_required, linked, already_signed_in, "
                                 "refused, provider_unavailable, error)", ["provider", "result"], registry=registry)

    def count(self, provider_id: str, result: str) -> None:
        self.callbacks.labels(provider_id if provider_id in self.providers else "unknown", result).inc()

    @classmethod
    async def build(cls, ctx: IdentityContext, http: httpx.AsyncClient, flows: Callable[[], FlowHandlers],
                    registry: CollectorRegistry) -> SocialSignIn:
        """The providers and their mappers; ConfigError (file:line:key) for every unusable provider entry."""
        cfg = ctx.config.selfservice.methods.oidc.config
        base = (cfg.base_redirect_uri or ctx.public_base_url).rstrip("/")
        providers: dict[str, Provider] = {}
        mappers: dict[str, Mapper] = {}
        problems: list[ConfigProblem] = []
        source = ctx.config.source

        def problem(i: int, key: str, message: str) -> None:
            path = f"selfservice.methods.oidc.config.providers.{i}.{key}"
            problems.append(ConfigProblem(source.file(path), source.line(path), path, message))

        for i, p in enumerate(cfg.providers):
            if not p.id or p.id in providers or "/" in p.id:
                problem(i, "id", "must be a unique provider id without '/'")
                continue
            kind = PROVIDERS[p.provider]
            for key, message in kind.config_problems(p):
                problem(i, key, message)
            providers[p.id] = kind(p, http, base + CALLBACK.format(provider=p.id))
            try:
                mappers[p.id] = await Mapper.load(p.mapper_url, http)
            except ValueError as exc:
                problem(i, "mapper_url", str(exc))
        if problems:
            raise ConfigError(problems)
        return cls(ctx, providers, mappers, flows, registry)

    # -- logging out at the provider too ------------------------------------------------------------------

    async def end_session_url(self, session: SessionRecord, ident: IdentityRecord, return_to: str) -> str | None:
        """A browser logout of a session that signed in with a provider configured `rp_initiated_logout`: the
        provider's end-session URL (which comes back to `return_to`); None otherwise, or when the provider
        cannot be asked (the local logout stands either way)."""
        provider_id = next((m.get("provider") for m in reversed(session.authentication_methods)
                            if m.get("method") == "oidc"), None)
        provider = self.providers.get(str(provider_id))
        if provider is None or not provider.cfg.rp_initiated_logout:
            return None
        cred = ident.credentials.get("oidc")
        entry: dict[str, Any] = next((e for e in (cred.config.get("providers", []) if cred else [])
                                      if e.get("provider") == provider.id), {})
        try:
            return await provider.end_session_url(oidc_tokens.opened(self.tokens, entry).get("id_token"), return_to)
        except GatekeeperError as exc:
            log.warning("logout at the provider skipped", extra={"provider": provider.id, "reason": exc.reason})
            return None

    # -- going to the provider ----------------------------------------------------------------------------

    async def redirect(self, flow: Flow, provider_id: str, upstream: Any = None) -> NoReturn:
        """Remember a fresh state on the flow and send the browser to the provider (raises the redirect)."""
        provider = self.providers.get(provider_id)
        if provider is None:
            flow.add_message(text.generic(f"Unknown social sign-in provider {provider_id[:64]!r}."))
            raise ValidationFailed()
        if not flow.is_browser and not token_exchange.exchanging(flow):
            raise BadRequest(reason="Native (API) flows sign in with a provider by submitting the id_token the app "
                                    "received from it (id_token, id_token_nonce); redirects need a browser flow: "
                                    f"/self-service/{flow.kind}/browser.")
        state = self.continuity.seal({"flow": flow.id, "kind": str(flow.kind), "provider": provider_id,
                                      "n": secrets.token_urlsafe(16)})
        nonce = secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(48) if await provider.uses_pkce() else None
        extra = {str(k): v[:256] for k, v in upstream.items() if isinstance(v, str)} \
            if isinstance(upstream, dict) else {}
        url = await provider.auth_url(state, nonce, _challenge(verifier) if verifier else None, extra)
        flow.internal["oidc"] = {"state": _digest(state), "provider": provider_id, "nonce": nonce,
                                 "verifier": verifier}
        flow.body.pop(token_exchange.FIELD, None)
        flow.record.updated_at = datetime.now(UTC)
        await self.ctx.store.update_flow(flow.record)
        raise BrowserLocationChangeRequired(url)

    # -- native apps: an id_token the app got from the provider itself ------------------------------------

    async def with_id_token(self, flow: Flow, provider_id: str, id_token: str, nonce: str | None,
                            form_traits: dict[str, Any], client: ClientInfo) -> IdentityRecord:
        """Sign in (or up) with a verified id_token submitted to the flow; ValidationFailed with the messages on
        the flow when the claims do not make a valid identity or the address belongs to an account."""
        provider = self.providers.get(provider_id)
        if provider is None:
            flow.add_message(text.generic(f"Unknown social sign-in provider {provider_id[:64]!r}."))
            raise ValidationFailed()
        claims = await provider.claims_from_id_token(id_token, nonce)
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise OidcFailed("The provider did not name the subject (sub) of this sign-in.")
        existing = await self.ctx.store.identity_by_identifier("oidc", f"{provider.id}:{claims['sub']}")
        if existing is not None:
            if existing.state != "active":
                raise OidcFailed("This account is disabled.")
            await self._keep_current(existing, provider, claims)
            return existing
        if not self.ctx.config.selfservice.flows.registration.enabled:
            raise FlowDisabled(reason="Registration is not allowed because it was disabled.")
        mapped = await self.mappers[provider.id].evaluate(claims)
        pending = {"provider": provider.id, "subject": claims["sub"], "traits": mapped.traits,
                   "metadata_public": mapped.metadata_public, "metadata_admin": mapped.metadata_admin,
                   "verified_addresses": mapped.verified_addresses,
                   "tokens": {"initial_id_token": self.tokens.seal({"v": id_token})}}
        if flow.kind == "login":  # a first sign-in registers; its traits must be complete already
            schema = self.flows().registration.schema_for(flow)
            for _, message in schema.validate(schema.coerce(merge(mapped.traits, form_traits))):
                flow.add_message(message)
            if flow.ui.get("messages"):
                raise ValidationFailed()
        done = await self.complete_registration(flow, pending, form_traits, client)
        if isinstance(done, IdentityRecord):
            return done
        if isinstance(done, CallbackResult):
            if flow.is_browser:  # the linking login flow takes over
                raise BrowserLocationChangeRequired(done.redirect)
            flow.add_message(text.duplicate_on_oidc_link())
        raise ValidationFailed()

    # -- coming back --------------------------------------------------------------------------------------

    async def callback(self, provider_id: str, query: dict[str, str], client: ClientInfo,
                       current: Current) -> CallbackResult:
        state = query.get("state", "")
        if not state:
            raise OidcFailed("Unable to complete OpenID Connect flow because the OpenID Provider did not return "
                             "the state query parameter.")
        sealed = self.continuity.open(state, ttl=LIFETIME)
        handler = self.flows().by_kind(str((sealed or {}).get("kind")))
        if sealed is None or handler is None:
            raise OidcFailed("Unable to complete OpenID Connect flow because the state parameter is invalid.")
        if sealed.get("provider") != provider_id:
            raise OidcFailed("Unable to complete OpenID Connect flow: provider mismatch between internal state "
                             "and URL.")
        flow = await handler.flows.load(str(sealed.get("flow")))
        if flow.expired():
            raise handler.flows.expired_error(flow, None)
        pending = flow.internal.get("oidc") or {}
        if not hmac.compare_digest(str(pending.get("state", "")), _digest(state)):
            raise OidcFailed("Unable to complete OpenID Connect flow because the state parameter is invalid (it "
                             "was already used or belongs to another sign-in).")
        handler.flows.check_csrf(flow, client, on_submit=False)  # the browser that started this sign-in
        flow.internal.pop("oidc")  # one state, one use: a replayed callback stops above
        await handler.flows.save(flow)
        if current is not None and flow.is_browser and flow.kind in ("login", "registration") \
                and not flow.body.get("refresh"):  # a native app's sign-in ignores the browser's own session
            return CallbackResult(flow.return_to or self.ctx.default_return_url, result="already_signed_in")
        if query.get("error"):
            raise OidcFailed(f'Unable to complete OpenID Connect flow because the OpenID Provider returned error '
                             f'"{query["error"][:100]}": {query.get("error_description", "")[:300]}')
        code = query.get("code", "")
        if not code:
            raise OidcFailed("Unable to complete OpenID Connect flow because the OpenID Provider did not return "
                             "the code query parameter.")
        provider = self.providers.get(provider_id)
        if provider is None:
            raise NotFound(reason="Unable to find the requested OpenID Connect provider.")
        tokens = await provider.exchange(code, pending.get("verifier"), query)
        claims = await provider.claims(tokens, str(pending.get("nonce")), query)
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise OidcFailed("The provider did not name the subject (sub) of this sign-in.")
        flow.body["active"] = "oidc"
        kept = self._keep_tokens(provider, tokens)
        if flow.kind == "login":
            result = await self._login_or_register(flow, provider, claims, kept, client)
        elif flow.kind == "settings":
            return await self._link_in_settings(flow, provider, claims, kept, current)
        else:
            result = await self._register(flow, provider, claims, kept, client)
        if token_exchange.exchanging(flow) and result.token is not None:  # a native app's sign-in
            redirect = token_exchange.complete(self.ctx, flow, result.token,
                                               flow.return_to or self.ctx.default_return_url)
            await handler.flows.save(flow)
            return CallbackResult(redirect, result=result.result)
        return result

    def _keep_tokens(self, provider: Provider, tokens: dict[str, Any]) -> dict[str, Any]:
        """Kratos keeps the first tokens on the credential, encrypted (`initial_*_token`); the current ones too
        (tokens.py)."""
        return {**oidc_tokens.initial(self.tokens, tokens), **oidc_tokens.current(self.tokens, tokens, provider.scope)}

    async def _login_or_register(self, flow: Flow, provider: Provider, claims: dict[str, Any],
                                 tokens: dict[str, str], client: ClientInfo) -> CallbackResult:
        ident = await self.ctx.store.identity_by_identifier("oidc", f"{provider.id}:{claims['sub']}")
        if ident is not None:
            return await self._sign_in(flow, ident, client, provider, claims, tokens)
        registration = self.flows().registration
        if not self.ctx.config.selfservice.flows.registration.enabled:
            raise FlowDisabled(reason="Registration is not allowed because it was disabled.")
        reg, _ = await registration.create(FlowType(flow.type), client, {"return_to": flow.return_to}, None)
        reg.body["active"] = "oidc"
        return await self._register(reg, provider, claims, tokens, client)

    async def _sign_in(self, flow: Flow, ident: IdentityRecord, client: ClientInfo, provider: Provider,
                       claims: dict[str, Any], tokens: dict[str, Any]) -> CallbackResult:
        if ident.state != "active":
            raise OidcFailed("This account is disabled.")
        await self._keep_current(ident, provider, claims)
        await self.replace_tokens(ident, provider.id, str(claims["sub"]), tokens)
        login = self.flows().login
        if flow.kind != "login":
            flow, _ = await login.create(FlowType(flow.type), client, {"return_to": flow.return_to}, None)
        outcome = await login.succeed(flow, ident, "oidc", client)
        return await self._finish(login, flow, outcome, provider.id)

    async def _keep_current(self, ident: IdentityRecord, provider: Provider, claims: dict[str, Any]) -> None:
        """`update_identity_on_login: automatic`: the provider's current claims update the identity (sync.py)."""
        if provider.cfg.update_identity_on_login == "automatic":
            await update_from_claims(self.ctx, self.mappers[provider.id], ident, claims, provider.id)

    async def _finish(self, handler: FlowHandler, flow: Flow, outcome: Any, provider_id: str) -> CallbackResult:
        session = outcome.session
        if session is not None:  # Kratos names the provider in the session's authentication method
            methods = [dict(m) for m in session.authentication_methods]
            methods[-1]["provider"] = provider_id
            session.authentication_methods = methods
            await self.ctx.store.update_session_authentication(session.id, session.aal, methods,
                                                               session.authenticated_at, datetime.now(UTC))
        flow.internal["completed"] = True
        flow.body["state"] = "passed_challenge"
        await handler.flows.save(flow)
        self.ctx.metrics.submitted(str(flow.kind), "success")
        return CallbackResult(outcome.return_to or self.ctx.default_return_url, outcome.session, outcome.token,
                              "signed_in" if flow.kind == "login" else "registered")

    async def _register(self, flow: Flow, provider: Provider, claims: dict[str, Any], tokens: dict[str, str],
                        client: ClientInfo) -> CallbackResult:
        existing = await self.ctx.store.identity_by_identifier("oidc", f"{provider.id}:{claims['sub']}")
        if existing is not None:  # already registered with this provider: sign in instead (Kratos)
            return await self._sign_in(flow, existing, client, provider, claims, tokens)
        mapped = await self.mappers[provider.id].evaluate(claims)
        pending = {"provider": provider.id, "subject": claims["sub"], "traits": mapped.traits,
                   "metadata_public": mapped.metadata_public, "metadata_admin": mapped.metadata_admin,
                   "verified_addresses": mapped.verified_addresses, "tokens": tokens}
        registration = self.flows().registration
        done = await self.complete_registration(flow, pending, {}, client)
        if not isinstance(done, IdentityRecord):
            await registration.flows.save(flow)
            return done or CallbackResult(registration.flows.ui_redirect(flow.id), result="traits_required")
        outcome = await registration.succeed(flow, done, "oidc", client)
        return await self._finish(registration, flow, outcome, provider.id)

    async def complete_registration(self, flow: Flow, pending: dict[str, Any], form_traits: dict[str, Any],
                                    client: ClientInfo) -> IdentityRecord | CallbackResult | None:
        """Create the identity from mapped (and submitted) traits; None when traits are missing or invalid (the
        form shows them); a CallbackResult to the linking login flow when the address has an account."""
        schema = self.flows().registration.schema_for(flow)
        traits = schema.coerce(merge(pending["traits"], form_traits))
        problems = schema.validate(traits)
        if problems:
            flow.internal["oidc_pending"] = pending
            self._show_traits_form(flow, schema, traits, pending["provider"], problems)
            return None
        duplicate = await self._duplicate(schema, traits)
        if duplicate is None:
            ident = self._new_identity(schema, traits, pending)
            try:
                await self.ctx.identities.create(ident)
            except UniqueViolation:
                duplicate = next(iter(schema.identifiers(traits)), None) or "your e-mail address"
            else:
                flow.internal.pop("oidc_pending", None)
                return ident
        return await self._ask_to_link(flow, pending, duplicate, client)

    async def _duplicate(self, schema: Any, traits: dict[str, Any]) -> str | None:
        for identifier in schema.identifiers(traits):
            if await self.ctx.store.identity_by_identifier("password", identifier) is not None:
                return str(identifier)
        for kind, key in (("verifiable", "verification"), ("recovery", "recovery")):
            for via, value in schema.addresses(traits, key):
                if await self.ctx.store.address_owner(kind, via, value) is not None:
                    return str(value)
        return None

    def _new_identity(self, schema: Any, traits: dict[str, Any], pending: dict[str, Any]) -> IdentityRecord:
        ident = self.ctx.identities.new(schema, traits, {})
        now = datetime.now(UTC)
        ident.credentials["oidc"] = CredentialRecord(
            id=str(uuid.uuid4()), type="oidc", identifiers=[f"{pending['provider']}:{pending['subject']}"],
            config={"providers": [self._provider_entry(pending)]}, created_at=now, updated_at=now)
        ident.metadata_public, ident.metadata_admin = pending.get("metadata_public"), pending.get("metadata_admin")
        verified = {(str(v.get("via")), str(v.get("value", "")).strip().lower())
                    for v in pending.get("verified_addresses") or []}
        for address in ident.addresses:
            if address.kind == "verifiable" and (address.via, address.value) in verified:
                address.verified, address.status, address.verified_at = True, "completed", now
        return ident

    def _show_traits_form(self, flow: Flow, schema: Any, traits: dict[str, Any], provider_id: str,
                          problems: list[tuple[str, dict[str, Any]]]) -> None:
        """Kratos' registration form after a sign-in whose traits do not pass the schema: the traits (with
        their errors) and one "Continue" button for the provider."""
        csrf = find(flow.nodes, "csrf_token")
        nodes: list[Node] = [csrf or csrf_node("")]
        nodes.extend(schema.trait_nodes(Group.DEFAULT, traits))
        nodes.append(submit_node("provider", provider_id, Group.OIDC, text.registration_continue()))
        flow.nodes = nodes
        flow.reset_messages()
        for name, message in problems:
            node = find(flow.nodes, name)
            (node["messages"] if node is not None else flow.ui.setdefault("messages", [])).append(message)
        # unsorted on purpose: the "Continue" button stays below the fields it submits

__all__ = ["CallbackResult", "Mapped", "SocialSignIn"]
