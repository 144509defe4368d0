"""Identity metrics: flow submissions by result, password hashing time (with queueing)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class IdentityMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.submissions = Counter(
            "gatekeeper_identity_flow_submissions_total", "Self-service flow submissions by outcome",
            ["flow", "result"], registry=registry)
        self.hashing = Histogram(
            "gatekeeper_identity_password_hash_seconds",
            "Time to hash or verify a password, including the wait for the bounded hashing pool",
            ["operation"], registry=registry,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))

    def submitted(self, flow: str, result: str) -> None:
        """`result`: success | refused (validation, credentials) | throttled | expired | csrf."""
        self.submissions.labels(flow, result).inc()
