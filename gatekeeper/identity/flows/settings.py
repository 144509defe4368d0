"""The settings flow (Kratos' self-service settings): profile, password, TOTP and lookup codes of the signed-in
identity.

Needs a session (browser HTML goes to the login page, JSON gets 401), an AAL that satisfies
`selfservice.flows.settings.required_aal`, and, for password / second-factor / identifier changes, a
privileged session (authenticated within `privileged_session_max_age`; else 403 `session_refresh_required`
or, in a browser, the refresh login). A flow stays usable after a successful save (`state: success`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from gatekeeper.errors import Forbidden, Unauthorized
from gatekeeper.identity import aal
from gatekeeper.identity import text_settings as msg
from gatekeeper.identity.client import ClientInfo
from gatekeeper.identity.context import IdentityContext
from gatekeeper.identity.flows.base import (
    Flow,
    FlowKind,
    FlowStore,
    FlowType,
    Outcome,
    ValidationFailed,
)
from gatekeeper.identity.flows.handler import Current, FlowHandler
from gatekeeper.identity.identities import rfc3339
from gatekeeper.identity.ports import SettingsMethod, VerificationSender
from gatekeeper.identity.strategies.lookup import LookupStrategy
from gatekeeper.identity.strategies.password_settings import PasswordSettings, ProfileSettings
from gatekeeper.identity.strategies.totp import TotpStrategy
from gatekeeper.identity.ui import find
from gatekeeper.store.identities import IdentityRecord

_ORDER = ("default", "profile", "password", "oidc", "totp", "lookup_secret")
_CODES_AND_APPS = ("totp", "lookup_secret")  # second factors set up here; the methods say what they proved
_WEBAUTHN_BUTTONS = (("passkey_settings_register", "passkey"), ("passkey_remove", "passkey"),
                     ("webauthn_register", "webauthn"), ("webauthn_remove", "webauthn"))


class SettingsSessionRequired(Unauthorized):
    """No session: browser init goes to the login flow, the rest to the login UI (Kratos' RegisterPublicRoutes)."""

    def __init__(self, login: str, *, init: bool) -> None:
        super().__init__(reason="No active session was found in this request." if init else
                         "A valid Ory Session Cookie or Ory Session Token is missing.")
        if init:
            self.error_id = "session_inactive"
        self.browser_redirect = login


class IdentityMismatch(Forbidden):
    id = "security_identity_mismatch"

    def __init__(self) -> None:
        super().__init__(reason="The settings flow belongs to another identity: start a new one.")


class SettingsFlowStore(FlowStore):
    def expired_message(self, flow: Flow) -> dict[str, Any]:
        expires = flow.record.expires_at
        ago = (datetime.now(UTC) - expires).total_seconds() / 60
        return msg.expired(rfc3339(expires) or "", int(expires.timestamp()), ago)


def _claimed_method(body: dict[str, Any]) -> str | None:
    """Which method a submission is for: `method`, or the button it came from (totp_unlink, lookup_secret_*)."""
    method = body.get("method")
    if isinstance(method, str) and method:
        return method
    if str(body.get("totp_unlink", "")).lower() == "true":
        return "totp"
    if any(str(body.get(k, "")).lower() == "true" for k in body if k.startswith("lookup_secret_")):
        return "lookup_secret"
    if body.get("link") or body.get("unlink"):  # the oidc method's buttons
        return "oidc"
    return next((method for button, method in _WEBAUTHN_BUTTONS if body.get(button)), None)


class SettingsFlows(FlowHandler):
    kind = FlowKind.SETTINGS

    def __init__(self, ctx: IdentityContext, verification: VerificationSender | None, *,
                 methods: Sequence[SettingsMethod] = ()) -> None:
        """`verification` sends codes for changed addresses; `methods`: further settings methods (oidc)."""
        self.cfg = ctx.config.selfservice.flows.settings
        super().__init__(ctx, float(self.cfg.lifespan))
        self.flows = SettingsFlowStore(ctx, self.kind, float(self.cfg.lifespan), ctx.ui_url("settings"))
        enabled = ctx.config.selfservice.methods
        self.strategies: list[Any] = []
        if enabled.profile.enabled:
            self.strategies.append(ProfileSettings(ctx, verification))
        if enabled.password.enabled:
            self.strategies.append(PasswordSettings(ctx))
        if enabled.totp.enabled:
            self.strategies.append(TotpStrategy(ctx))
        if enabled.lookup_secret.enabled:
            self.strategies.append(LookupStrategy(ctx))
        self.methods = tuple(methods)
        self.strategies.extend(self.methods)

    # -- access ----------------------------------------------------------------------------------------

    def login_init_url(self, return_to: str | None) -> str:
        return aal.login_url(self.ctx.public_base_url, return_to=return_to)

    def check_init(self, current: Current, params: dict[str, Any]) -> None:
        if current is None:
            raise SettingsSessionRequired(self.login_init_url(params.get("return_to")), init=True)
        self.check_aal(current, self.flows.init_url(FlowType.BROWSER, params.get("return_to")))

    def check_aal(self, current: tuple[Any, IdentityRecord], return_to: str | None) -> None:
        session, ident = current
        aal.require_aal(self.cfg.required_aal, session, ident, self.ctx.public_base_url, return_to,
                        code_mfa=self.ctx.config.selfservice.methods.code.mfa_enabled)

    def require(self, current: Current, flow: Flow | None = None) -> tuple[Any, IdentityRecord]:
        """The session for fetch/submit: present and, once the flow is loaded, of the flow's identity and at the
        required AAL (the second-factor login then returns to this flow, as Kratos' getSettingsFlow)."""
        if current is None:
            raise SettingsSessionRequired(self.ctx.ui_url("login"), init=False)
        if flow is not None:
            if flow.internal.get("identity_id") != current[1].id:
                raise IdentityMismatch()
            self.check_aal(current, self.flows.ui_redirect(flow.id))
        return current

    async def fetch_for(self, flow_id: str | None, client: ClientInfo, current: Current) -> Flow:
        self.require(current)
        flow = await self.fetch(flow_id, client)
        self.require(current, flow)
        return flow

    async def submit(self, flow_id: str | None, body: dict[str, Any], client: ClientInfo, current: Current,
                     *, csrf_header: str | None = None) -> Outcome:
        self.require(current)
        flow = await self.flows.load(flow_id)
        self.require(current, flow)
        return await super().submit(flow_id, body, client, current, csrf_header=csrf_header)

    # -- nodes -----------------------------------------------------------------------------------------

    def extra_fields(self, params: dict[str, Any], current: Current) -> dict[str, Any]:
        assert current is not None
        return {"identity": self.ctx.identities.to_json(current[1])}

    def populate(self, flow: Flow, current: Current, params: dict[str, Any]) -> None:
        assert current is not None
        ident = current[1]
        flow.internal["identity_id"] = ident.id
        flow.body["state"] = "show_form"
        flow.record.state = "show_form"
        self.render(flow, ident)

    def render(self, flow: Flow, ident: IdentityRecord) -> None:
        """(Re)build every method's nodes for the identity as it is now; the CSRF node is kept."""
        csrf = find(flow.nodes, "csrf_token")
        flow.nodes = [csrf] if csrf is not None else []
        reveal = bool(flow.internal.pop("lookup_reveal", False))
        for strategy in self.strategies:
            if isinstance(strategy, LookupStrategy):
                strategy.populate_settings(flow, ident, reveal=reveal)
            else:
                strategy.populate_settings(flow, ident)
        flow.body["identity"] = self.ctx.identities.to_json(ident)

    def sort(self, flow: Flow) -> None:
        flow.nodes.sort(key=lambda n: _ORDER.index(n["group"]) if n["group"] in _ORDER else len(_ORDER))

    # -- submit ----------------------------------------------------------------------------------------

    async def run_strategy(self, flow: Flow, body: dict[str, Any], client: ClientInfo,
                           current: Current) -> Outcome | None:
        session, ident = self.require(current, flow)
        method = _claimed_method(body)
        strategy = next((s for s in self.strategies if s.id == method), None)
        if strategy is None or not strategy.claims(body):  # claimed by its buttons but not its own (link=1): 400
            flow.add_message(msg.no_strategy())
            return None
        max_age = float(self.cfg.privileged_session_max_age)
        if strategy.needs_privilege(body, ident) and not aal.privileged(session, max_age):
            raise aal.SessionRefreshRequired(aal.login_url(self.ctx.public_base_url, refresh="true",
                                                           return_to=self.flows.ui_redirect(flow.id)))
        try:
            changed = await strategy.settings(flow, body, ident)
        except ValidationFailed:
            self.sort(flow)  # the nodes keep the submitted values and their messages
            raise
        self.render(flow, ident)
        self.sort(flow)
        flow.body["active"] = strategy.id
        outcome = Outcome(flow=flow, identity=ident, session=None, in_progress=True)
        if not changed:
            flow.body["state"] = "show_form"
            outcome.result = "shown"
            return outcome
        flow.body["state"] = "success"
        flow.add_message(msg.saved())
        if strategy.id in _CODES_AND_APPS and aal.has_second_factor(ident, strategy.id):
            # as Kratos: linking an app or confirming codes proves it (recorded at aal2, whatever the session's AAL)
            await aal.complete_method(self.ctx, session, strategy.id, aal="aal2")
        elif strategy in self.methods and (proven := strategy.proven_aal(body)) is not None:
            await aal.complete_method(self.ctx, session, strategy.id, aal=proven)  # a passkey or key just added
        self.ctx.sessions.forget(session.token_hash)  # the cached session holds the identity and its AAL
        after = self.cfg.after.for_method(strategy.id)
        if strategy.id == "password" and any(h.hook == "revoke_active_sessions" for h in after.hooks):
            await self.ctx.sessions.revoke_others(ident.id, session.id)
        outcome.return_to = flow.return_to or after.default_browser_return_url or self.flows.ui_redirect(flow.id)
        outcome.result = "success"
        return outcome
