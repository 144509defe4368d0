"""`Limits`: every bound and timeout the data-plane server applies to a connection."""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds a client cannot push past; sizes in bytes, times in seconds. Beyond them the server answers with
    the status given (then closes the connection) or drops the connection.

    - `max_request_line`: length of the request-target (414).
    - `max_headers`, `max_header_bytes`: header count and size of the header block, trailers included (431);
      at most 1 MiB, Go's `http.DefaultMaxHeaderBytes`.
    - `max_body_size`: what `Request.read_body()` reads by default (413).
    - `header_timeout`: from the first byte of a request head to its end (408; a connection that sends nothing
      at all is closed without an answer).
    - `body_timeout`: longest silence of the client while the handler waits for body bytes (408).
    - `write_timeout`: how long a client may leave the response unread with the send buffer full (dropped).
    - `keep_alive_timeout`: idle time between requests (closed).
    - `max_pipelined`: requests read ahead of the one being answered (reading pauses beyond).
    - `linger_timeout`: after an answer sent while the client is still sending (an early 413, a refusal), how
      long the server reads and drops what comes before closing, so that the client gets the answer and not a
      reset.

    Deadlines are checked a few times a second (`tick`), so they hold within a quarter of the shortest one.
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
