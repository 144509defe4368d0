"""Permission metrics on the app's registry: checks by result and their duration, check-cache lookups, namespace
reloads. The label values the check path counts are bound once here (a check pays no `labels()` lookup)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


class PermissionMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.checks = Counter("gatekeeper_permission_checks_total", "Permission checks by result",
                              ["result"], registry=registry)
        self.check_seconds = Histogram("gatekeeper_permission_check_duration_seconds",
                                       "Time of one permission check (all its reads)", buckets=_BUCKETS,
                                       registry=registry)
        self.cache_lookups = Counter("gatekeeper_permission_check_cache_lookups_total",
                                     "Check-cache lookups by result (hit: answered from this replica's cache)",
                                     ["result"], registry=registry)
        self.reloads = Counter("gatekeeper_permission_namespace_reloads_total",
                               "Re-reads of the OPL namespaces file", ["result"], registry=registry)
        self.allowed, self.denied, self.error = (self.checks.labels(r) for r in ("allowed", "denied", "error"))
        self.cache_hit, self.cache_miss = (self.cache_lookups.labels(r) for r in ("hit", "miss"))
