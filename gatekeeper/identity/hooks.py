"""After-flow hooks, as Kratos: `session`, `verification`, `show_verification_ui`, `require_verified_address`,
`revoke_active_sessions` and `web_hook`, configured per flow and per method (a method list replaces the
global one; see config/identity.py `After.for_method`).

Hooks are compiled once at start-up (web hook bodies are Jsonnet, as Kratos: `function(ctx) {...}`, read
from `file://` or `base64://` URIs). A web hook answering 4xx with Kratos' `messages` shape (when it may
interrupt: `can_interrupt` or `response.parse`) stops the flow and shows those messages; one that fails
(timeout, 5xx, no answer) fails the flow closed, unless `response.ignore` (fire and forget).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx

from gatekeeper.config.types import Duration
from gatekeeper.errors import BadRequest, GatekeeperError, UniqueViolation, UpstreamError
from gatekeeper.identity import text
from gatekeeper.identity.flows.base import Flow, ValidationFailed
from gatekeeper.identity.jsonnet import JsonnetError
from gatekeeper.identity.outgoing import HttpRequest
from gatekeeper.identity.ports import VerificationSender
from gatekeeper.identity.strategies.common import attach
from gatekeeper.identity.strategies.password_settings import save_traits

if TYPE_CHECKING:
    from gatekeeper.config.identity import Hook
    from gatekeeper.identity.client import ClientInfo
    from gatekeeper.identity.context import IdentityContext
    from gatekeeper.identity.flows.handler import Current
    from gatekeeper.store.identities import IdentityRecord
    from gatekeeper.store.sessions import SessionRecord

log = logging.getLogger("gatekeeper.identity.hooks")

SUPPORTED = {"session", "verification", "show_verification_ui", "require_verified_address",
             "revoke_active_sessions", "web_hook"}
_DEFAULT_TIMEOUT = 10.0


class AddressNotVerified(GatekeeperError):
    """`require_verified_address`: Kratos' 403 with the verification flow to continue with."""

    status = 403
    id = "session_verified_address_required"
    default_message = "Your account's email or phone address are not verified yet. Please check your email or " \
                      "phone inbox or re-request verification."


@dataclass(frozen=True)
class WebHook(HttpRequest):
    """One compiled `web_hook`: the request, and what to do with the answer."""

    ignore: bool = False
    parse: bool = False
    can_interrupt: bool = False
    timeout: float = _DEFAULT_TIMEOUT

    @classmethod
    def compile(cls, config: Any, where: str) -> WebHook:
        request = HttpRequest.options(config, where, "web_hook")
        response = config.get("response") or {}
        return cls(**request, ignore=bool(response.get("ignore")), parse=bool(response.get("parse")),
                   can_interrupt=bool(config.get("can_interrupt")),
                   timeout=float(Duration.parse(config.get("timeout", _DEFAULT_TIMEOUT))))


class HookFailed(UpstreamError):
    """A web hook that must answer did not (timeout, 5xx, refused): the flow fails closed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason=reason)


class WebHooks:
    """The configured hooks of every flow: what is configured (`has`), and the `web_hook`s, run in order."""

    def __init__(self, ctx: IdentityContext, http: httpx.AsyncClient) -> None:
        self.ctx, self.http = ctx, http
        self._compiled: dict[tuple[str, str, int], WebHook] = {}
        self._pending: set[asyncio.Task[httpx.Response | None]] = set()
        flows = ctx.config.selfservice.flows
        for flow_name in ("login", "registration", "recovery", "verification", "settings"):
            for i, hook in enumerate(getattr(flows, flow_name).before.hooks):
                if hook.hook == "web_hook":
                    where = f"selfservice.flows.{flow_name}.before"
                    self._compiled[(flow_name, "before", i)] = WebHook.compile(dict(hook.config), where)
            after = getattr(flows, flow_name).after
            for method in ("password", "profile", "code", "link", "oidc", "totp", "lookup_secret", "webauthn",
                           "passkey", "saml"):
                for i, hook in enumerate(after.for_method(method).hooks):
                    if hook.hook == "web_hook":
                        where = f"selfservice.flows.{flow_name}.after"
                        self._compiled[(flow_name, method, i)] = WebHook.compile(dict(hook.config), where)

    def hooks(self, flow_name: str, method: str) -> tuple[Hook, ...]:
        """The after-hooks of `method` (`before`: the flow's before-hooks)."""
        flow_cfg = getattr(self.ctx.config.selfservice.flows, flow_name)
        return tuple(flow_cfg.before.hooks if method == "before" else flow_cfg.after.for_method(method).hooks)

    def has(self, flow_name: str, method: str, name: str) -> bool:
        return any(h.hook == name for h in self.hooks(flow_name, method))

    async def web_hooks(self, flow_name: str, method: str, flow: Flow, ident: IdentityRecord | None,
                        client: ClientInfo, session: SessionRecord | None = None) -> None:
        """Every configured web hook, in order. ValidationFailed (messages on the flow) when one interrupts."""
        for i, hook in enumerate(self.hooks(flow_name, method)):
            compiled = self._compiled.get((flow_name, method, i))
            if hook.hook == "web_hook" and compiled is not None:
                await self.call(compiled, flow, ident, client, session)

    async def before(self, flow_name: str, flow: Flow, current: Current, client: ClientInfo) -> None:
        """Before-hooks (web hooks) of a flow just created; one that interrupts refuses the flow (400)."""
        if not self.hooks(flow_name, "before"):
            return
        try:
            await self.web_hooks(flow_name, "before", flow, current[1] if current else None, client)
        except ValidationFailed:
            shown = [*flow.ui.get("messages", []), *(m for n in flow.nodes for m in n["messages"])]
            raise BadRequest(reason="; ".join(str(m.get("text")) for m in shown) or "Refused by a web hook.",
                             details={"messages": shown}) from None

    def context(self, flow: Flow, ident: IdentityRecord | None, client: ClientInfo,
                session: SessionRecord | None) -> dict[str, Any]:
        out: dict[str, Any] = {"flow": flow.to_json(), "request_method": "POST", "request_url": client.url,
                               "request_headers": {"User-Agent": [client.user_agent]}, "request_cookies": {}}
        if ident is not None:
            out["identity"] = self.ctx.identities.to_json(ident)
        if session is not None and ident is not None:
            out["session"] = self.ctx.sessions.to_json(session, ident)
        return out

    async def call(self, hook: WebHook, flow: Flow, ident: IdentityRecord | None, client: ClientInfo,
                   session: SessionRecord | None = None) -> None:
        try:
            body = await hook.render(self.context(flow, ident, client, session))
        except JsonnetError as exc:  # the operator's template
            log.error("web hook body failed to render", extra={"url": hook.url, "error": str(exc)[:500]})
            if hook.ignore:
                return
            raise HookFailed("The web hook's body template failed to render.") from None
        if hook.ignore:
            task = asyncio.create_task(self._send(hook, body, quiet=True))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
            return
        response = await self._send(hook, body, quiet=False)
        assert response is not None
        if response.status_code < 300:
            if hook.parse and ident is not None and response.status_code == 200:
                await self.apply(flow, ident, response)
            return
        if 400 <= response.status_code < 500 and (hook.can_interrupt or hook.parse):
            if _show_messages(flow, response):
                raise ValidationFailed()
        log.warning("web hook refused the flow", extra={"url": hook.url, "status": response.status_code})
        raise HookFailed(f"The web hook answered {response.status_code}.")

    async def _send(self, hook: WebHook, body: bytes | None, *, quiet: bool) -> httpx.Response | None:
        try:
            return await self.http.request(hook.method, hook.url, content=body, timeout=hook.timeout,
                                           **hook.request_kwargs())
        except httpx.HTTPError as exc:
            log.warning("web hook failed", extra={"url": hook.url, "error": type(exc).__name__})
            if quiet:
                return None
            raise HookFailed("The web hook did not answer in time." if isinstance(exc, httpx.TimeoutException)
                             else "The web hook could not be reached.") from None

    async def apply(self, flow: Flow, ident: IdentityRecord, response: httpx.Response) -> None:
        """`response.parse`: `{"identity": {traits?, metadata_public?, metadata_admin?}}` changes the identity
        (traits re-validated by its schema; addresses kept verified when unchanged)."""
        try:
            changes = response.json().get("identity")
        except (ValueError, AttributeError):
            changes = None
        if not isinstance(changes, dict):
            return
        now = datetime.now(UTC)
        traits = changes.get("traits")
        if isinstance(traits, dict) and traits != ident.traits:
            schema = self.ctx.schemas.get(ident.schema_id) or self.ctx.schemas.default
            errors = schema.validate(traits)
            for name, message in errors:
                attach(flow, name, message)
            if errors:
                raise ValidationFailed()
            try:
                await save_traits(self.ctx, ident, schema, traits)
            except UniqueViolation:
                flow.add_message(text.duplicate_credentials())
                raise ValidationFailed() from None
        if "metadata_public" in changes or "metadata_admin" in changes:
            ident.metadata_public = changes.get("metadata_public", ident.metadata_public)
            ident.metadata_admin = changes.get("metadata_admin", ident.metadata_admin)
            await self.ctx.store.update_identity_metadata(ident.id, ident.metadata_public, ident.metadata_admin,
                                                          now)


def _show_messages(flow: Flow, response: httpx.Response) -> bool:
    """Kratos' `{"messages":[{"instance_ptr":"#/traits/email","messages":[{id,text,type,context}]}]}`."""
    try:
        data = response.json()
    except ValueError:
        return False
    groups = data.get("messages") if isinstance(data, dict) else None
    if not isinstance(groups, list):
        return False
    shown = False
    for group in groups:
        if not isinstance(group, dict):
            continue
        pointer = str(group.get("instance_ptr") or "")
        name = pointer.lstrip("#/").replace("/", ".")
        for m in group.get("messages") or []:
            if not isinstance(m, dict):
                continue
            given = str(m.get("id", ""))  # Kratos' ids are int64; ASCII digits only (isdigit() also takes "²")
            usable = given.isascii() and given.isdigit() and len(given) <= 18 and int(given) > 0
            message = {"id": int(given) if usable else 4000001,
                       "text": str(m.get("text", ""))[:1000], "type": m.get("type") if m.get("type") in
                       ("info", "error", "success") else "error"}
            if isinstance(m.get("context"), dict) and m["context"]:
                message["context"] = m["context"]
            if name:
                attach(flow, name, message)
            else:
                flow.add_message(message)
            shown = True
    return shown


class FlowHooks:
    """The after-hooks of login and registration that do more than call web hooks, in Kratos' order; the flows
    call them explicitly before they issue a session.

    login: `require_verified_address` and web hooks run before the session is issued (a refusal signs no one
    in). registration: web hooks, then the `verification` hook (every unverified verifiable address gets a
    code, when the verification flow is enabled), then `show_verification_ui`; the `session` hook is the
    registration flow's own, always last."""

    def __init__(self, web: WebHooks, verification: VerificationSender | None) -> None:
        self.web, self.ctx, self.verification = web, web.ctx, verification

    async def after_login(self, flow: Flow, ident: IdentityRecord, method: str, client: ClientInfo) -> None:
        flow.body["active"] = method  # the web hooks' ctx.flow shows the method, as Kratos'
        if self.web.has("login", method, "require_verified_address"):
            await self.require_verified_address(flow, ident, client)
        await self.web.web_hooks("login", method, flow, ident, client)

    async def after_registration(self, flow: Flow, ident: IdentityRecord, method: str,
                                 client: ClientInfo) -> list[dict[str, Any]]:
        """Web hooks (an interruption deletes the new identity), then verification codes; returns the
        `show_verification_ui` continue_with items."""
        flow.body["active"] = method
        try:
            await self.web.web_hooks("registration", method, flow, ident, client)
        except (ValidationFailed, GatekeeperError):
            await self.ctx.store.delete_identity(ident.id)  # interrupted: no account kept, the form can be resent
            raise
        continue_with: list[dict[str, Any]] = []
        verification = self.verification
        if not self.ctx.config.selfservice.flows.verification.enabled or verification is None \
                or not verification.can_send:
            return continue_with
        for address in ident.addresses:
            if address.kind == "verifiable" and not address.verified:
                vflow = await verification.send_code(ident, address.value, flow_type=flow.type, client=client,
                                                     return_to=flow.return_to)
                if self.web.has("registration", method, "show_verification_ui"):
                    continue_with.append(verification.continue_with(vflow, address.value))
        return continue_with

    async def require_verified_address(self, flow: Flow, ident: IdentityRecord, client: ClientInfo) -> None:
        """Login: refuse an identity none of whose verifiable addresses is verified (a code is sent)."""
        addresses = [a for a in ident.addresses if a.kind == "verifiable"]
        if any(a.verified for a in addresses):
            return
        continue_with: list[dict[str, Any]] = []
        if addresses and self.verification is not None:
            vflow = await self.verification.send_code(ident, addresses[0].value, flow_type=flow.type,
                                                      client=client)
            continue_with.append(self.verification.continue_with(vflow, addresses[0].value))
        flow.add_message(text.address_not_verified())
        error = AddressNotVerified(reason="Your account's email or phone address are not verified yet.",
                                   details={"continue_with": continue_with} if continue_with else None)
        url = continue_with[0]["flow"].get("url") if continue_with else None
        if url:
            error.browser_redirect = url  # HTML: straight to the verification UI
        raise error
