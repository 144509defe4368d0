"""What every self-service flow does the same way: init, fetch and the submit loop over strategies.

Kratos' response rules live here once: expired flows (410 with `use_flow_id`, or a fresh flow for HTML),
CSRF (403, or a restarted flow for HTML), API flows refusing browser requests, validation errors (400
with the flow) and throttling (429, or a message on the form for HTML).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gatekeeper.errors import GatekeeperError, TooManyRequests
from gatekeeper.identity import csrf, text, token_exchange
from gatekeeper.identity.client import ClientInfo
from gatekeeper.identity.errors import ApiFlowBrowserRequest, CsrfViolation
from gatekeeper.identity.flows.base import (
    Flow,
    FlowKind,
    FlowStore,
    FlowType,
    NotResponsible,
    Outcome,
    ValidationFailed,
)
from gatekeeper.identity.hooks import WebHooks
from gatekeeper.identity.ui import csrf_node
from gatekeeper.store.identities import IdentityRecord
from gatekeeper.store.sessions import SessionRecord

if TYPE_CHECKING:
    from gatekeeper.identity.context import IdentityContext

Current = tuple[SessionRecord, IdentityRecord] | None


class FlowHandler:
    """Base of LoginFlows and RegistrationFlows; subclasses populate nodes and finish successes."""

    kind: FlowKind

    def __init__(self, ctx: IdentityContext, lifespan: float, web_hooks: WebHooks | None = None) -> None:
        """`web_hooks`: runs the flow's before-hooks when one is created (None: no before-hooks)."""
        self.ctx, self.web_hooks = ctx, web_hooks
        self.flows = FlowStore(ctx, self.kind, lifespan, ctx.ui_url(str(self.kind)))

    # -- hooks for subclasses ---------------------------------------------------------------------------

    def populate(self, flow: Flow, current: Current, params: dict[str, Any]) -> None:
        raise NotImplementedError

    def extra_fields(self, params: dict[str, Any], current: Current) -> dict[str, Any]:
        return {}

    def check_init(self, current: Current, params: dict[str, Any]) -> None:
        """Raise when the flow may not start (e.g. a session already exists)."""

    async def run_strategy(self, flow: Flow, body: dict[str, Any], client: ClientInfo,
                           current: Current) -> Outcome | None:
        """Ask each strategy; an Outcome on success, None when the flow continues (400 with the flow)."""
        raise NotImplementedError

    # -- init / fetch -----------------------------------------------------------------------------------

    def csrf_token_for(self, client: ClientInfo) -> str:
        existing = client.cookies.get(self.ctx.csrf_cookie)
        return existing if existing and csrf.verify(existing, existing) else csrf.new_token()

    async def create(self, flow_type: FlowType, client: ClientInfo, params: dict[str, Any], current: Current,
                     *, csrf_token: str | None = None) -> tuple[Flow, str]:
        return_to = self.ctx.return_to.check(params.get("return_to"))
        token = csrf_token or self.csrf_token_for(client)
        flow = self.flows.new(flow_type, client, return_to=return_to, csrf_token=token,
                              extra=self.extra_fields(params, current))
        flow.internal["params"] = {k: v for k, v in params.items() if k in ("refresh", "aal") and v}
        self.populate(flow, current, params)
        flow.nodes.insert(0, csrf_node(self.flows.csrf_node_value(flow, token)))
        self.sort(flow)
        exchange = flow_type == FlowType.API and self.kind in token_exchange.KINDS \
            and str(params.get("return_session_token_exchange_code", "")).lower() == "true"
        code = token_exchange.start(flow) if exchange else None
        await self.flows.insert(flow)
        if code is not None:
            flow.body[token_exchange.FIELD] = code  # in this answer only: FlowStore never stores it
        return flow, token

    def sort(self, flow: Flow) -> None:
        pass

    async def init(self, flow_type: FlowType, client: ClientInfo, params: dict[str, Any],
                   current: Current) -> Outcome:
        self.check_init(current, params)
        flow, token = await self.create(flow_type, client, params, current)
        if self.web_hooks is not None:
            await self.web_hooks.before(str(self.kind), flow, current, client)
        return Outcome(flow=flow, csrf_cookie=token if flow_type == FlowType.BROWSER else None)

    async def fetch(self, flow_id: str | None, client: ClientInfo) -> Flow:
        flow = await self.flows.load(flow_id)
        if flow.expired():
            raise self.flows.expired_error(flow, None)
        self.flows.check_csrf(flow, client, on_submit=False)
        return flow

    # -- submit -----------------------------------------------------------------------------------------

    async def submit(self, flow_id: str | None, body: dict[str, Any], client: ClientInfo, current: Current,
                     *, csrf_header: str | None = None) -> Outcome:
        flow = await self.flows.load(flow_id)
        try:
            outcome = await self._submit(flow, body, client, current, csrf_header)
        except GatekeeperError as exc:
            self.ctx.metrics.submitted(str(self.kind), _result_of(exc))
            if flow.type == FlowType.API:
                exc.json_only = True  # API flows always answer JSON
            raise
        result = outcome.result or (
            "restarted" if outcome.restarted else "refused" if outcome.status == 400 else "success")
        self.ctx.metrics.submitted(str(self.kind), result)
        return outcome

    async def _submit(self, flow: Flow, body: dict[str, Any], client: ClientInfo, current: Current,
                      csrf_header: str | None) -> Outcome:
        if flow.type == FlowType.API and client.has_browser_traits:
            raise ApiFlowBrowserRequest()
        html = flow.is_browser and not client.wants_json
        params = dict(flow.internal.get("params", {}), return_to=flow.return_to)
        if flow.expired():
            fresh, token = await self.create(flow.type, client, params, current)
            if html:
                fresh.add_message(self.flows.expired_message(flow))
                await self.flows.save(fresh)
                return Outcome(flow=fresh, restarted=True, csrf_cookie=token)
            raise self.flows.expired_error(flow, fresh.id)
        submitted = body.get("csrf_token") if isinstance(body.get("csrf_token"), str) else csrf_header
        try:
            self.flows.check_csrf(flow, client, submitted, on_submit=True)
        except CsrfViolation:
            if not html:
                raise
            fresh, token = await self.create(flow.type, client, params, current, csrf_token=csrf.new_token())
            fresh.add_message(text.csrf_restart())
            await self.flows.save(fresh)
            return Outcome(flow=fresh, restarted=True, csrf_cookie=token)
        self.check_init(current, flow.internal.get("params", {}))
        flow.reset_messages()
        if flow.internal.get("completed"):
            flow.add_message(text.already_completed(str(self.kind)))
            return Outcome(flow=flow, status=400)
        try:
            outcome = await self.run_strategy(flow, body, client, current)
        except ValidationFailed:
            outcome = None
        except TooManyRequests as exc:
            if not html:
                raise
            flow.add_message(text.too_many_attempts(exc.retry_after))
            await self.flows.save(flow)
            return Outcome(flow=flow, status=400, result="throttled")
        if outcome is None:
            await self.flows.save(flow)
            return Outcome(flow=flow, status=400)
        if outcome.in_progress:  # e.g. a code was sent: the flow goes on (verification, recovery)
            await self.flows.save(flow)
            return outcome
        flow.internal["completed"] = True
        flow.body["state"] = "passed_challenge"
        await self.flows.save(flow)
        return outcome

    async def ask(self, strategies: list[Any], call: Any) -> Any:
        """Run `call(strategy)` for each until one is responsible; NotResponsible from all -> None."""
        for strategy in strategies:
            try:
                return True, await call(strategy)
            except NotResponsible:
                continue
        return False, None


def _result_of(exc: GatekeeperError) -> str:
    if isinstance(exc, TooManyRequests):
        return "throttled"
    if isinstance(exc, CsrfViolation):
        return "csrf"
    if exc.status == 422:  # browser_location_change_required: off to a social sign-in provider
        return "redirected"
    return "expired" if exc.status == 410 else "error"
