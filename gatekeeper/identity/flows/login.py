"""The login flow: Kratos' unified style with the password method; refresh re-authentication."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gatekeeper.errors import BadRequest
from gatekeeper.identity import aal as levels
from gatekeeper.identity import text, text_settings
from gatekeeper.identity.client import ClientInfo
from gatekeeper.identity.context import IdentityContext
from gatekeeper.identity.errors import SessionAlreadyAvailable
from gatekeeper.identity.flows.base import Flow, FlowKind, Outcome
from gatekeeper.identity.flows.handler import Current, FlowHandler
from gatekeeper.identity.hooks import FlowHooks
from gatekeeper.identity.identities import rfc3339
from gatekeeper.identity.ports import (
    IdentificationLoginMethod,
    IdentifiedLoginMethod,
    LoginMethod,
    RefreshLoginMethod,
)
from gatekeeper.identity.strategies import IdentifierFirstStrategy, PasswordStrategy
from gatekeeper.identity.strategies.lookup import LookupStrategy
from gatekeeper.identity.strategies.totp import TotpStrategy
from gatekeeper.identity.ui import sort_login
from gatekeeper.store.identities import IdentityRecord


class AalNotAvailable(BadRequest):
    def __init__(self) -> None:
        super().__init__(reason="aal2 login needs a second factor, and this account has none set up.")


class Aal1Required(BadRequest):
    status = 401
    id = "session_aal1_required"
    default_message = "You can not requested a higher AAL (AAL2/AAL3) without an active session."


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("true", "1"))


class LoginFlows(FlowHandler):
    kind = FlowKind.LOGIN

    def __init__(self, ctx: IdentityContext, hooks: FlowHooks, *, methods: Sequence[LoginMethod] = (),
                 second_factors: Sequence[Any] = ()) -> None:
        """`hooks` run before a session is issued; `methods`: further first factors besides the password (oidc);
        `second_factors`: further second factors besides TOTP and lookup codes (security keys, code)."""
        cfg = ctx.config.selfservice.flows.login
        super().__init__(ctx, float(cfg.lifespan), hooks.web)
        self.hooks = hooks
        self.after = cfg.after
        self.password = PasswordStrategy(ctx)
        self.strategies: list[Any] = [self.password] if ctx.config.selfservice.methods.password.enabled else []
        self.identifier_first = IdentifierFirstStrategy(self._show_methods) \
            if cfg.style == "identifier_first" else None
        if self.identifier_first is not None:
            self.strategies.insert(0, self.identifier_first)
        enabled = ctx.config.selfservice.methods
        # second factors (aal=aal2 flows), as Kratos' PopulateLoginMethodSecondFactor strategies
        self.second_factors: list[Any] = [s for s, on in ((TotpStrategy(ctx), enabled.totp.enabled),
                                                          (LookupStrategy(ctx), enabled.lookup_secret.enabled)) if on]
        self.second_factors.extend(second_factors)
        self.code_mfa = enabled.code.mfa_enabled
        self.methods = tuple(methods)
        self.strategies.extend(self.methods)
        # first-factor strategies that need no identifier (oidc): also offered on the identifier-first step
        self.without_identifier = [m for m in self.methods if m.identifier_free]

    def check_init(self, current: Current, params: dict[str, Any]) -> None:
        aal = params.get("aal") or ("aal2" if self.owes_second_factor(current, params) else "aal1")
        if aal not in ("aal1", "aal2"):
            raise BadRequest(reason="Unknown authenticator assurance level: use aal1 or aal2.")
        if aal == "aal2":
            if current is None:
                raise Aal1Required()
            if not _truthy(params.get("refresh")) and current[0].aal == "aal2":
                raise SessionAlreadyAvailable()
            if not any(levels.has_second_factor(current[1], s.id) for s in self.second_factors):
                raise AalNotAvailable()
            return
        if current is not None and not _truthy(params.get("refresh")):
            raise SessionAlreadyAvailable()

    def owes_second_factor(self, current: Current, params: dict[str, Any]) -> bool:
        """An aal1 session of an identity with a second factor, under whoami's highest_available: a plain login
        offers the second factor (rather than 'already signed in', which would send the browser back to the page
        that refused the session)."""
        return (current is not None and not params.get("aal") and not _truthy(params.get("refresh"))
                and self.ctx.config.session.whoami.required_aal == "highest_available"
                and current[0].aal != "aal2"
                and levels.available_aal(current[1], code_mfa=self.code_mfa) == "aal2")

    def extra_fields(self, params: dict[str, Any], current: Current) -> dict[str, Any]:
        refresh = _truthy(params.get("refresh")) and current is not None
        wants_aal2 = params.get("aal") == "aal2" or self.owes_second_factor(current, params)
        requested = "aal2" if wants_aal2 and current is not None else "aal1"
        return {"created_at": None, "updated_at": None, "refresh": refresh, "requested_aal": requested}

    def populate(self, flow: Flow, current: Current, params: dict[str, Any]) -> None:
        flow.body["created_at"] = flow.body["issued_at"]
        flow.body["updated_at"] = flow.body["issued_at"]
        if flow.body["requested_aal"] == "aal2" and current is not None:
            flow.internal["identity_id"] = current[1].id
            flow.add_message(text_settings.complete_second_factor())
            for second in self.second_factors:
                second.populate_login(flow, current[1])
            return
        schema = self.ctx.schemas.default
        identifier = None
        refreshed = current[1] if flow.body["refresh"] and current is not None else None
        if refreshed is not None:
            cred = refreshed.credentials.get("password")
            identifier = cred.identifiers[0] if cred and cred.identifiers else None
            flow.add_message(text.reauthenticate())
        if self.identifier_first is not None and refreshed is None:  # Kratos: a refresh takes precedence
            self.identifier_first.populate_login(flow, schema)
            for strategy in self.without_identifier:
                if isinstance(strategy, IdentificationLoginMethod):
                    strategy.populate_identification(flow, schema)
                else:
                    strategy.populate_login(flow, schema)
            return
        for strategy in self.strategies:
            if refreshed is not None and isinstance(strategy, RefreshLoginMethod):
                strategy.populate_refresh(flow, refreshed)
            elif refreshed is not None and strategy is self.password and identifier is None:
                continue  # Kratos: no password form to refresh an identity that has no password
            elif strategy is not self.identifier_first:
                strategy.populate_login(flow, schema, identifier=identifier)

    def _show_methods(self, flow: Flow, identifier: str) -> None:
        """The identifier-first style's second screen: every first-factor method, whoever asked."""
        if self.password in self.strategies:
            self.password.populate_credentials(flow)
        for method in self.methods:
            if isinstance(method, IdentifiedLoginMethod):  # code: "Send sign in code"; "Sign in with passkey"
                method.populate_identified(flow)
        self.sort(flow)

    def sort(self, flow: Flow) -> None:
        flow.nodes = sort_login(flow.nodes)

    async def run_strategy(self, flow: Flow, body: dict[str, Any], client: ClientInfo,
                           current: Current) -> Outcome | None:
        if flow.body.get("requested_aal") == "aal2":
            return await self.second_factor(flow, body, current)
        found, ident = await self.ask(self.strategies, lambda s: s.login(flow, body, client))
        if not found:
            flow.add_message(text.no_strategy("login"))
            return None
        if ident is None:  # identifier-first: the flow moved to its second screen
            return None
        method = str(body.get("method"))
        if flow.body.get("refresh") and current is not None and current[1].id == ident.id:
            # a refresh login re-authenticates the session it was asked for (its AAL stays)
            session = await levels.complete_method(self.ctx, current[0], method, reauthenticated=True)
            flow.body["active"] = method
            return_to = flow.return_to or self.after.for_method(method).default_browser_return_url \
                or self.ctx.default_return_url
            return Outcome(flow=flow, session=session, identity=ident, return_to=return_to)
        return await self.succeed(flow, ident, method, client)

    async def succeed(self, flow: Flow, ident: IdentityRecord, method: str, client: ClientInfo) -> Outcome:
        await self.hooks.after_login(flow, ident, method, client)
        for first_factor in self.methods:  # e.g. oidc links the provider the user came with (may refuse)
            await first_factor.before_session(flow, ident)
        session, token = await self.ctx.sessions.issue(ident, method, client)
        after = self.after.for_method(method)
        if any(h.hook == "revoke_active_sessions" for h in after.hooks):
            await self.ctx.sessions.revoke_others(ident.id, session.id)
        flow.body["active"] = method
        flow.body["updated_at"] = rfc3339(session.issued_at)
        return_to = flow.return_to or after.default_browser_return_url or self.ctx.default_return_url
        aal2_pending = False
        if self.ctx.config.session.whoami.required_aal == "highest_available" \
                and levels.available_aal(ident, code_mfa=self.code_mfa) == "aal2" \
                and levels.method_aal(method) == "aal1":
            # Kratos' post-login hook: an identity with a second factor goes on to the aal2 login
            return_to = levels.login_url(self.ctx.public_base_url, aal="aal2", return_to=return_to)
            aal2_pending = True  # SPA: 422 to that login; API: the session without its identity
        return Outcome(flow=flow, session=session, token=token, identity=ident, return_to=return_to,
                       aal2_pending=aal2_pending)

    async def second_factor(self, flow: Flow, body: dict[str, Any], current: Current) -> Outcome | None:
        """aal=aal2: the session's identity proves a second factor; the same session is upgraded to aal2."""
        if current is None or current[1].id != flow.internal.get("identity_id"):
            raise Aal1Required()
        session, ident = current
        found, proved = await self.ask(self.second_factors, lambda s: s.login_second(flow, body, ident))
        if not found:
            flow.add_message(text.no_strategy("login"))
            return None
        if proved is None:  # a code was sent: the flow goes on
            return None
        method = str(body.get("method"))
        session = await levels.complete_method(self.ctx, session, method, aal="aal2")
        flow.body["active"] = method
        flow.body["updated_at"] = rfc3339(session.updated_at)
        after = self.after.for_method(method)
        return_to = flow.return_to or after.default_browser_return_url or self.ctx.default_return_url
        return Outcome(flow=flow, session=session, identity=ident, return_to=return_to)
