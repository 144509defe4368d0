"""Access metrics on the app's registry: decisions per rule, handler failures, rule reloads."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class AccessMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.decisions = Counter("gatekeeper_access_decisions_total", "Access decisions per rule",
                                 ["mode", "rule", "decision", "status"], registry=registry)
        self.failures = Counter("gatekeeper_access_handler_failures_total",
                                "Authenticator failures (denials, unreachable back-ends) per handler",
                                ["handler", "reason"], registry=registry)
        self.rules_loaded = Gauge("gatekeeper_access_rules_loaded", "Rules in the active rule set",
                                  registry=registry, multiprocess_mode="liveall")
        self.reloads = Counter("gatekeeper_access_rule_reloads_total", "Rule repository (re)loads",
                               ["result"], registry=registry)
        self.upstream_errors = Counter("gatekeeper_proxy_upstream_errors_total", "Upstream failures",
                                       ["rule", "reason"], registry=registry)
        self.rules_info = Gauge("gatekeeper_access_rules_version_info",
                                "1 for the version (sha256) of the active rule set", ["version"], registry=registry,
                                multiprocess_mode="liveall")
        self._decision_children: dict[tuple[str, str, str, int], Counter] = {}
        self._version = ""

    def rules_version(self, version: str) -> str:
        """Show `version` as the active rule set's (the previous one's series is removed; under `serve.workers`
        it stays at 0, the multiprocess files keep every series); returns it."""
        if version != self._version:
            if self._version:
                self.rules_info.labels(self._version).set(0)
                self.rules_info.remove(self._version)
            self.rules_info.labels(version).set(1)
            self._version = version
        return version

    def decision(self, mode: str, rule: str, decision: str, status: int) -> None:
        key = (mode, rule, decision, status)
        child = self._decision_children.get(key)
        if child is None:
            child = self._decision_children[key] = self.decisions.labels(mode, rule or "<unnamed>", decision,
                                                                         str(status))
        child.inc()

    def handler_failure(self, handler: str, reason: str) -> None:
        self.failures.labels(handler, reason).inc()
