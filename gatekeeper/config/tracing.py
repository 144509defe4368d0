"""Kratos' and Oathkeeper's `tracing` section (ory/x `otelx` schema): OpenTelemetry traces, off by default.

Keys, accepted values and defaults are Ory's (`sampling_ratio` 1, as their config providers fill it in).
gatekeeper exports with `provider: otel` only (OTLP over HTTP); `jaeger` and `zipkin` are accepted so Ory config
files load, and the server says once at start-up that nothing is exported.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from gatekeeper.config.types import Secret

PROVIDERS = ("jaeger", "otel", "zipkin")  # the otelx schema's enum
EXPORTED = "otel"
DEFAULT_SERVICE_NAME = "gatekeeper"
# otelx's three address forms: [IPv6]:port, IPv4:port, hostname:port (no scheme, no path)
_HOST_PORT = re.compile(r"^(\[[0-9a-fA-F:.%a-zA-Z]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):[0-9]*$")


@dataclass(frozen=True)
class Sampling:
    """`sampling` of the otlp and zipkin providers: the share of new traces recorded."""

    sampling_ratio: float = 1.0


@dataclass(frozen=True)
class Otlp:
    """`tracing.providers.otlp`: the OTLP/HTTP collector (`server_url` is `host:port`; spans go to `/v1/traces`,
    over HTTPS unless `insecure`)."""

    server_url: str = "localhost:4318"
    insecure: bool = False
    sampling: Sampling = field(default_factory=Sampling)
    authorization_header: Secret | None = None


@dataclass(frozen=True)
class JaegerSampling:
    server_url: str = ""
    trace_id_ratio: float = 1.0


@dataclass(frozen=True)
class Jaeger:
    """`tracing.providers.jaeger`: accepted, not exported to (Jaeger takes OTLP: use `provider: otel`)."""

    local_agent_address: str = ""
    sampling: JaegerSampling = field(default_factory=JaegerSampling)


@dataclass(frozen=True)
class Zipkin:
    """`tracing.providers.zipkin`: accepted, not exported to."""

    server_url: str = ""
    sampling: Sampling = field(default_factory=Sampling)


@dataclass(frozen=True)
class TracingProviders:
    jaeger: Jaeger = field(default_factory=Jaeger)
    zipkin: Zipkin = field(default_factory=Zipkin)
    otlp: Otlp = field(default_factory=Otlp)


@dataclass(frozen=True)
class Tracing:
    """`tracing`: empty `provider` (the default) turns tracing off."""

    provider: str = ""
    service_name: str = DEFAULT_SERVICE_NAME
    deployment_environment: str = ""
    providers: TracingProviders = field(default_factory=TracingProviders)

    @property
    def exported(self) -> bool:
        """Whether spans are recorded and sent (only `provider: otel` exports)."""
        return self.provider == EXPORTED


def check_tracing(tracing: Tracing, add: Callable[[str, str], None]) -> None:
    """Report every problem of the section through `add(path, message)`."""
    if tracing.provider not in ("", *PROVIDERS):
        add("tracing.provider", f"expected one of {', '.join(PROVIDERS)} (or no provider: tracing off), "
                                f"got {tracing.provider!r}")
    otlp = tracing.providers.otlp
    if otlp.server_url is not None and not _HOST_PORT.match(otlp.server_url):
        add("tracing.providers.otlp.server_url", "expected host:port such as localhost:4318 (no scheme: "
                                                 f"insecure: true sends plain HTTP), got {otlp.server_url!r}")
    for path, ratio in (("otlp.sampling.sampling_ratio", otlp.sampling.sampling_ratio),
                        ("jaeger.sampling.trace_id_ratio", tracing.providers.jaeger.sampling.trace_id_ratio),
                        ("zipkin.sampling.sampling_ratio", tracing.providers.zipkin.sampling.sampling_ratio)):
        if ratio is not None and not 0.0 <= ratio <= 1.0:
            add(f"tracing.providers.{path}", f"expected a ratio between 0 and 1, got {ratio:g}")
