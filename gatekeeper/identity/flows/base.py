"""The flow base shared by every self-service flow: creation, persistence, expiry, CSRF, return_to.

A flow owns its state; strategies (strategies/) only add their nodes and check a submission
(Kratos' flow/strategy split). Strategies raise `NotResponsible` when a submission is not theirs
and `ValidationFailed` after writing their messages into the flow's UI.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from gatekeeper.identity import csrf, text
from gatekeeper.identity.client import ClientInfo
from gatekeeper.identity.errors import CsrfViolation, FlowExpired, FlowNotFound
from gatekeeper.identity.identities import rfc3339
from gatekeeper.identity.ui import Node, clear_messages
from gatekeeper.store.flows import FlowRecord
from gatekeeper.store.identities import IdentityRecord
from gatekeeper.store.sessions import SessionRecord

if TYPE_CHECKING:
    from gatekeeper.identity.context import IdentityContext


EXCHANGE_CODE = "session_token_exchange_code"


class FlowKind(StrEnum):
    LOGIN = "login"
    REGISTRATION = "registration"
    VERIFICATION = "verification"
    RECOVERY = "recovery"
    SETTINGS = "settings"


class FlowType(StrEnum):
    API = "api"
    BROWSER = "browser"


class NotResponsible(Exception):
    """This strategy does not handle the submitted method: ask the next one."""


class ValidationFailed(Exception):
    """The submission was refused; the messages are on the flow's UI."""


@dataclass
class Flow:
    """A persisted flow: `body` is exactly the JSON clients see; `internal` never leaves the server."""

    record: FlowRecord

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def kind(self) -> FlowKind:
        return FlowKind(self.record.kind)

    @property
    def type(self) -> FlowType:
        return FlowType(self.record.type)

    @property
    def body(self) -> dict[str, Any]:
        return self.record.body

    @property
    def ui(self) -> dict[str, Any]:
        ui: dict[str, Any] = self.record.body["ui"]
        return ui

    @property
    def nodes(self) -> list[Node]:
        nodes: list[Node] = self.record.body["ui"]["nodes"]
        return nodes

    @nodes.setter
    def nodes(self, nodes: list[Node]) -> None:
        self.record.body["ui"]["nodes"] = nodes

    @property
    def internal(self) -> dict[str, Any]:
        return self.record.internal

    @property
    def return_to(self) -> str | None:
        return self.record.body.get("return_to")

    @property
    def is_browser(self) -> bool:
        return self.record.type == FlowType.BROWSER

    def expired(self, now: datetime | None = None) -> bool:
        return self.record.expires_at <= (now or datetime.now(UTC))

    def add_message(self, message: dict[str, Any]) -> None:
        self.ui.setdefault("messages", []).append(message)

    def reset_messages(self) -> None:
        clear_messages(self.ui)

    def to_json(self) -> dict[str, Any]:
        return self.record.body


@dataclass
class Outcome:
    """What a flow operation produced; the API layer maps it to HTTP per Kratos' response matrix."""

    flow: Flow | None = None
    status: int = 200
    session: SessionRecord | None = None
    token: str | None = None
    identity: IdentityRecord | None = None
    return_to: str | None = None
    csrf_cookie: str | None = None  # set this CSRF cookie token
    restarted: bool = False  # HTML: the flow was replaced by a fresh one (expired, CSRF)
    result: str | None = None  # for gatekeeper_identity_flow_submissions_total, when not success/refused/restarted
    in_progress: bool = False  # the flow goes on (a code was sent): saved, not completed
    aal2_pending: bool = False  # signed in with aal1 by an identity with a second factor: aal2 login next
    continue_with: list[dict[str, Any]] = field(default_factory=list)  # from hooks


class FlowStore:
    """Create, load (404 / expiry / CSRF) and save flows of one kind."""

    def __init__(self, ctx: IdentityContext, kind: FlowKind, lifespan: float, ui_url: str) -> None:
        self.ctx, self.kind, self.lifespan, self.ui_url = ctx, kind, lifespan, ui_url

    def action(self, flow_id: str) -> str:
        return f"{self.ctx.public_base_url}/self-service/{self.kind}?flow={flow_id}"

    def ui_redirect(self, flow_id: str) -> str:
        sep = "&" if "?" in self.ui_url else "?"
        return f"{self.ui_url}{sep}{urlencode({'flow': flow_id})}"

    def init_url(self, flow_type: FlowType, return_to: str | None = None) -> str:
        url = f"{self.ctx.public_base_url}/self-service/{self.kind}/{flow_type}"
        return f"{url}?{urlencode({'return_to': return_to})}" if return_to else url

    def new(self, flow_type: FlowType, client: ClientInfo, *, return_to: str | None, csrf_token: str,
            extra: dict[str, Any], state: str = "choose_method") -> Flow:
        now = datetime.now(UTC)
        flow_id = str(uuid.uuid4())
        body: dict[str, Any] = {
            "id": flow_id, "organization_id": None, "type": str(flow_type),
            "expires_at": rfc3339(now + timedelta(seconds=self.lifespan)), "issued_at": rfc3339(now),
            "request_url": client.url,
        }
        if return_to:
            body["return_to"] = return_to
        body["ui"] = {"action": self.action(flow_id), "method": "POST", "nodes": []}
        body.update(extra)
        body["state"] = state
        record = FlowRecord(id=flow_id, kind=str(self.kind), type=str(flow_type), state=state,
                            csrf_hash=csrf.digest(csrf_token) if flow_type == FlowType.BROWSER else "",
                            issued_at=now, expires_at=now + timedelta(seconds=self.lifespan), updated_at=now,
                            body=body, internal={})
        return Flow(record)

    def csrf_node_value(self, flow: Flow, csrf_token: str) -> str:
        # API flows carry the node too (as in Kratos' snapshots); its value is never checked there.
        return csrf.mask(csrf_token) if flow.is_browser else ""

    async def insert(self, flow: Flow) -> None:
        await self.ctx.store.insert_flow(flow.record)

    async def save(self, flow: Flow) -> None:
        flow.body.pop(EXCHANGE_CODE, None)  # shown once, when the flow is created (token_exchange.py)
        flow.record.updated_at = datetime.now(UTC)
        flow.record.state = flow.body.get("state")
        await self.ctx.store.update_flow(flow.record)

    async def load(self, flow_id: str | None) -> Flow:
        if not flow_id or len(flow_id) > 64:
            raise FlowNotFound()
        record = await self.ctx.store.flow(str(self.kind), flow_id)
        if record is None:
            raise FlowNotFound()
        return Flow(record)

    def check_csrf(self, flow: Flow, client: ClientInfo, submitted: str | None = None, *,
                   on_submit: bool) -> None:
        """Browser flows: the CSRF cookie must belong to this flow (and match the submitted token)."""
        if not flow.is_browser or flow.internal.get("skip_csrf"):  # admin-issued recovery: DangerousSkipCSRFCheck
            return
        cookie = client.cookies.get(self.ctx.csrf_cookie)
        if not cookie:
            reason = ("The HTTP Cookie Header was set but did not include the anti-CSRF cookie."
                      if client.cookies else "The anti-CSRF cookie was not sent with the request.")
            raise CsrfViolation(reason)
        if csrf.digest(cookie) != flow.record.csrf_hash:
            raise CsrfViolation("The anti-CSRF cookie does not belong to this flow.")
        if on_submit and not csrf.verify(cookie, submitted):
            raise CsrfViolation("The anti-CSRF token in the request does not match the anti-CSRF cookie.")

    def expired_error(self, flow: Flow, new_flow_id: str | None) -> FlowExpired:
        now = datetime.now(UTC)
        details = ({"redirect_to": self.init_url(flow.type)} if flow.is_browser
                   else {"api": self.init_url(flow.type)})
        return FlowExpired(use_flow_id=new_flow_id, expired_at=rfc3339(flow.record.expires_at) or "",
                           since_ns=int((now - flow.record.expires_at).total_seconds() * 1e9), details=details)

    def expired_message(self, flow: Flow) -> dict[str, Any]:
        expires = flow.record.expires_at
        ago = (datetime.now(UTC) - expires).total_seconds() / 60
        return text.flow_expired(str(self.kind), rfc3339(expires) or "", int(expires.timestamp()), ago)
