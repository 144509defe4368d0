"""`Limits`: every bound and timeout the data-plane server applies to a connection."""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds a client cannot push past; sizes in bytes, times in seconds.

    The server answers 414 (request line), 431 (header count or size), 408 (head not received in time)
    and closes; `max_body_size` is what `Request.read_body()` allows by default (413 beyond).
    """

    max_request_line: int = 8 * 1024
    max_headers: int = 100
    max_header_bytes: int = 64 * 1024
    max_body_size: int = MIB
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    write_timeout: float = 30.0
    keep_alive_timeout: float = 75.0
    max_pipelined: int = 32
    linger_timeout: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < self.max_header_bytes <= MIB:
            raise ValueError("max_header_bytes must be between 1 and 1 MiB (Go's http.DefaultMaxHeaderBytes)")
        for name in ("max_request_line", "max_headers", "max_pipelined"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive")
        if self.max_body_size < 0:
            raise ValueError("max_body_size must not be negative")
        for name in ("header_timeout", "body_timeout", "write_timeout", "keep_alive_timeout", "linger_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")

    @property
    def tick(self) -> float:
        """How often the server checks deadlines: a quarter of the shortest timeout, between 10 ms and 1 s."""
        shortest = min(self.header_timeout, self.body_timeout, self.write_timeout, self.keep_alive_timeout,
                       self.linger_timeout)
        return min(1.0, max(0.01, shortest / 4))
