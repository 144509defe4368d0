"""The access pipeline with spans: the rule match, and each authenticator, authorizer and mutator it runs (wired
in place of `Pipeline` only when tracing is on, so the untraced pipeline does no tracing work at all)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from gatekeeper.access.compiler import CompiledRule, RuleSet
from gatekeeper.access.handlers import NotResponsible
from gatekeeper.access.metrics import AccessMetrics
from gatekeeper.access.pipeline import Pipeline
from gatekeeper.access.request_view import RequestView
from gatekeeper.observe.tracing import Tracer

HANDLER = "gatekeeper.access.handler"
RULE = "gatekeeper.access.rule"
_SPANS = {"authenticator": "access.authenticate", "authorizer": "access.authorize", "mutator": "access.mutate"}


class TracedPipeline(Pipeline):
    """`Pipeline` with a span around the rule match and around each handler's step."""

    def __init__(self, current: Callable[[], RuleSet | None], metrics: AccessMetrics, mode: str,
                 tracer: Tracer) -> None:
        super().__init__(current, metrics, mode)
        self.tracer = tracer

    def _find(self, rules: RuleSet, view: RequestView) -> list[tuple[CompiledRule, Any]]:
        with self.tracer.span("access.match", {"gatekeeper.access.mode": self.mode}) as span:
            found = super()._find(rules, view)
            span.set_attribute("gatekeeper.access.rules_matched", len(found))
            if len(found) == 1:
                span.set_attribute(RULE, found[0][0].id)
            return found

    def _step(self, kind: str, name: str, step: Awaitable[None]) -> Awaitable[None]:
        return self._traced_step(kind, name, step)

    async def _traced_step(self, kind: str, name: str, step: Awaitable[None]) -> None:
        declined: NotResponsible | None = None
        with self.tracer.span(_SPANS[kind], {HANDLER: name}) as span:
            try:
                await step
            except NotResponsible as exc:  # "not mine": the next authenticator is asked; not a failure
                span.set_attribute("gatekeeper.access.responsible", False)
                declined = exc
        if declined is not None:
            raise declined
