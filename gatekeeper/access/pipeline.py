"""Runs one request through the rule set: match -> authenticators -> authorizer -> mutators, and maps
any failure to the rule's error handlers (or `errors.fallback`). Shared by the proxy and decisions API.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from gatekeeper.access.compiler import CompiledRule, RuleSet
from gatekeeper.access.errors.base import ErrorResponse
from gatekeeper.access.errors.json import render_json
from gatekeeper.access.handlers import AuthSession, NotResponsible
from gatekeeper.access.matcher import captures
from gatekeeper.access.metrics import AccessMetrics
from gatekeeper.access.request_view import Headers, RequestView
from gatekeeper.errors import GatekeeperError, NotFound, StoreUnavailable, Unauthorized

_errlog = logging.getLogger("gatekeeper.access")


class NoRuleSet(GatekeeperError):
    status = 503
    id = "rules_not_loaded"
    default_message = "No access rules are loaded yet"


@dataclass(slots=True)
class Decision:
    """What the pipeline decided: an allowed session (with the headers to inject) or an error response."""

    rule: CompiledRule | None
    session: AuthSession | None
    error: ErrorResponse | None
    reason: str = ""
    log: dict[str, Any] = field(default_factory=dict)  # the decision's fields for the request's log line

    @property
    def route(self) -> str | None:
        """The route label of the request: the matched rule's id."""
        return (self.rule.id or "<rule>") if self.rule is not None else None


def strip_headers(headers: Headers, managed: frozenset[bytes]) -> Headers:
    """Drop every client copy of a managed header, whatever its spelling (case, `_` vs `-`); `managed` holds
    `header_key` spellings (raw names are lower-case already)."""
    if not managed:
        return headers
    kept = [(k, v) for k, v in headers.raw if (k.replace(b"_", b"-") if b"_" in k else k) not in managed]
    return headers if len(kept) == len(headers.raw) else Headers(kept)


class Pipeline:
    def __init__(self, current: Callable[[], RuleSet | None], metrics: AccessMetrics, mode: str) -> None:
        self.current, self.metrics, self.mode = current, metrics, mode

    async def run(self, view: RequestView) -> Decision:
        rules = self.current()
        rule: CompiledRule | None = None
        session: AuthSession | None = None
        try:
            if rules is None:
                raise NoRuleSet(reason="the rule repository has not loaded yet")
            view.headers = strip_headers(view.headers, rules.managed_headers)
            found = self._find(rules, view)
            if not found:
                raise NotFound("Requested url does not match any rules", error_id="not_found")
            if len(found) > 1:
                ids = ", ".join(repr(r.id) for r, _ in found)
                raise GatekeeperError("Expected exactly one rule but found multiple rules",
                                      reason=f"rules {ids} all match", error_id="internal_server_error")
            rule, m = found[0]
            session = AuthSession(view, captures(m))
            await self._authenticate(rule, session)
            name, authorizer = rule.authorizer
            try:
                await self._step("authorizer", name, authorizer.authorize(session))
            except GatekeeperError as exc:
                self.metrics.handler_failure(name, str(exc.status))
                raise
            if rule.managed_headers:
                view.headers = strip_headers(view.headers, rule.managed_headers)
            for name, mutator in rule.mutators:
                await self._step("mutator", name, mutator.mutate(session))
        except GatekeeperError as exc:
            return self._fail(rules, rule, session, view, exc)
        except Exception as exc:  # noqa: BLE001 - a handler bug is a 500 and a log line, never an allow
            _errlog.error("access pipeline failed", exc_info=exc, extra={"rule": rule.id if rule else None})
            return self._fail(rules, rule, session, view, GatekeeperError(reason="internal error"))
        self.metrics.decision(self.mode, rule.id, "allow", 200)
        return Decision(rule, session, None, log={
            "mode": self.mode, "rule": rule.id, "subject": session.subject, "handlers": rule.handler_names,
            "authenticator": session.authenticator, "decision": "allow"})

    async def _authenticate(self, rule: CompiledRule, session: AuthSession) -> None:
        for name, authenticator in rule.authenticators:
            session.authenticator = name
            try:
                await self._step("authenticator", name, authenticator.authenticate(session))
                return
            except NotResponsible:
                continue
            except StoreUnavailable:
                self.metrics.handler_failure(name, "store_unavailable")
                raise
            except GatekeeperError as exc:
                self.metrics.handler_failure(name, str(exc.status))
                raise
        session.authenticator = ""
        raise Unauthorized("Access credentials are invalid", reason="no authenticator was responsible")

    def _find(self, rules: RuleSet, view: RequestView) -> list[tuple[CompiledRule, Any]]:
        """Every rule matching `view` (a seam: `TracedPipeline` wraps it in a span)."""
        return rules.find(view.method, view.url, view.headers.get)

    def _step(self, kind: str, name: str, step: Awaitable[None]) -> Awaitable[None]:
        """One handler's step, to await (a seam: `TracedPipeline` wraps it in a span; here it is the step itself,
        so the untraced pipeline pays one method call, no coroutine)."""
        return step

    def _fail(self, rules: RuleSet | None, rule: CompiledRule | None, session: AuthSession | None,
              view: RequestView, error: GatekeeperError) -> Decision:
        response = self._render(rules, rule, view, error)
        rule_id = rule.id if rule else "<none>"
        self.metrics.decision(self.mode, rule_id, "deny", response.status)
        return Decision(rule, session, response, error.reason or error.message, log={
            "mode": self.mode, "rule": rule.id if rule else None, "subject": session.subject if session else "",
            "handlers": rule.handler_names if rule else "", "authenticator": session.authenticator if session else "",
            "decision": "deny", "error_status": error.status, "reason": error.reason or error.message})

    def _render(self, rules: RuleSet | None, rule: CompiledRule | None, view: RequestView,
                error: GatekeeperError) -> ErrorResponse:
        if rule is not None and rule.errors:
            responsible = [h for _, h in rule.errors if h.responsible(error, view)]
            if len(responsible) > 1:
                return render_json(GatekeeperError(reason="more than one error handler is responsible"),
                                   verbose=False)
            if responsible:
                return responsible[0].render(error, view)
        for _, handler in (rules.fallback if rules else ()):
            if handler.responsible(error, view):
                return handler.render(error, view)
        if rules is None:
            return render_json(error, verbose=False)
        return render_json(GatekeeperError(reason="no error handler is responsible"), verbose=False)


def render_bad_request(error: GatekeeperError, rules: RuleSet | None) -> ErrorResponse:
    """Requests refused before matching (400: ambiguous path or host) still go through `errors.fallback`."""
    for _, handler in (rules.fallback if rules else ()):
        if handler.responsible(error, None):
            return handler.render(error, None)
    return render_json(error, verbose=True)
