"""Observability: JSON (or text) logs and the Prometheus metrics every part of gatekeeper exports."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from gatekeeper import __version__
from gatekeeper.config.serve import Log
from gatekeeper.errors import StoreError, StoreUnavailable, UniqueViolation

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}
_LEVELS = {"trace": "DEBUG", "debug": "DEBUG", "info": "INFO", "warn": "WARNING", "warning": "WARNING",
           "error": "ERROR", "fatal": "CRITICAL", "panic": "CRITICAL"}

access_log = logging.getLogger("gatekeeper.access_log")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, msg, plus every `extra` field."""

    _second, _second_text = -1, ""  # one strftime per second, not per line (a line per request)
    _encode = json.JSONEncoder(default=str).encode

    def format(self, record: logging.LogRecord) -> str:
        entry = self._entry(record.created, record.levelname.lower(), record.name, record.getMessage())
        for key, value in vars(record).items():
            if key not in _STANDARD:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return self._encode(entry)

    def _entry(self, created: float, level: str, logger: str, msg: str) -> dict[str, Any]:
        second = int(created)
        if second != self._second:
            self._second, self._second_text = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return {"time": f"{self._second_text}.{int((created - second) * 1000):03d}Z", "level": level,
                "logger": logger, "msg": msg}

    def line(self, level: str, logger: str, msg: str, fields: dict[str, Any]) -> str:
        """The line `format` would give a record with these `extra` fields, without building the record."""
        entry = self._entry(time.time(), level, logger, msg)
        entry.update(fields)
        return self._encode(entry)


def json_stream(logger: logging.Logger) -> logging.StreamHandler[Any] | None:
    """The handler `logger`'s INFO lines end in when it is only what `configure_logging` set up (one stream
    handler with the JSON formatter on the root, no filters on the way); None otherwise."""
    root = logging.root
    handlers = root.handlers
    if len(handlers) != 1 or logger.handlers or logger.filters or root.filters or not logger.propagate:
        return None
    handler = handlers[0]
    if type(handler) is not logging.StreamHandler or handler.filters or type(handler.formatter) is not JsonFormatter:
        return None
    return handler


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(f"{k}={v}" for k, v in vars(record).items() if k not in _STANDARD)
        line = f"{self.formatTime(record)} {record.levelname:<7} {record.name}: {record.getMessage()}"
        line = f"{line} {extras}" if extras else line
        return f"{line}\n{self.formatException(record.exc_info)}" if record.exc_info else line


_LIBRARY_LOGGERS = ("aiosqlite", "asyncpg", "httpx", "httpcore", "hpack", "multipart", "asyncio")


def configure_logging(cfg: Log) -> None:
    """Route every gatekeeper (and uvicorn) log record to stderr in the configured format."""
    # A line per request: skip the record fields no line prints (the Logging HOWTO's "optimization" switches;
    # the caller lookup walks the stack on every record).
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging._srcfile = None
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if cfg.format == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(_LEVELS.get(cfg.level.lower(), "INFO"))
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)  # five listeners: one start line is ours
    libraries = logging.DEBUG if cfg.level.lower() == "trace" else logging.WARNING
    for name in _LIBRARY_LOGGERS:  # their debug lines (every SQL call, every HTTP frame) only at Ory's `trace`
        logging.getLogger(name).setLevel(libraries)
    logging.getLogger("uvicorn.access").disabled = True


class _Hold(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def held_logs() -> Iterator[None]:
    """Hold the log records emitted before logging is configured (loading the config), then replay them.

    Call `configure_logging` inside the block: the held records then come out in the configured format.
    """
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    hold = _Hold()
    root.handlers[:] = [hold]
    root.setLevel(logging.INFO)
    try:
        yield
    finally:
        if root.handlers == [hold]:  # not configured meanwhile (the config was invalid)
            root.handlers[:] = saved_handlers
            root.setLevel(saved_level)
        for record in hold.records:
            logging.getLogger(record.name).handle(record)


MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"  # prometheus-client's switch to its multiprocess mode (serve.workers)


class Metrics:
    """Every metric gatekeeper exports, on a registry of its own (several containers in one process never collide).

    Under `serve.workers` each worker process records into `multiprocess_dir` (prometheus-client's multiprocess
    mode, switched on by the environment variable before the library is imported) and a scrape of any worker
    answers for all of them. Gauges say how to combine workers: state every worker shares (the outbox backlog)
    is the maximum, per-process state carries a `pid` label, open connections add up. In one process the
    registry also carries the process and Python runtime series (`process_*`, `python_gc_*`, `python_info`), as
    Kratos' and Oathkeeper's `/metrics` do; prometheus-client cannot combine those across workers, so under
    `serve.workers` they are left out.
    """

    def __init__(self, multiprocess_dir: str | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._scraped = self.registry
        if multiprocess_dir:
            self._scraped = CollectorRegistry()
            MultiProcessCollector(self._scraped, path=multiprocess_dir)  # type: ignore[no-untyped-call]
        else:
            for runtime in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
                self.registry.register(runtime)
        self.requests = Counter("gatekeeper_http_requests_total", "HTTP requests served",
                                ["listener", "route", "method", "status"], registry=self.registry)
        self.request_seconds = Histogram(
            "gatekeeper_http_request_duration_seconds", "Time to answer an HTTP request",
            ["listener", "route"], registry=self.registry,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.store_seconds = Histogram(
            "gatekeeper_store_query_duration_seconds", "Time of one database statement", ["operation"],
            registry=self.registry,
            buckets=(0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5),
        )
        self.store_errors = Counter("gatekeeper_store_errors_total", "Database statements that failed",
                                    ["reason"], registry=self.registry)
        self.ready = Gauge("gatekeeper_ready", "1 when every readiness check passed at the last check (of any worker)",
                           registry=self.registry, multiprocess_mode="livemostrecent")
        build = Gauge("gatekeeper_build_info", "Build information", ["version", "python"], registry=self.registry,
                      multiprocess_mode="livemax")
        build.labels(__version__, sys.version.split()[0]).set(1)

    def exposition(self) -> bytes:
        """The text a scrape of `/metrics` returns (all workers' under `serve.workers`)."""
        return generate_latest(self._scraped)

    def observe_query(self, sql: str, seconds: float, error: StoreError | None = None) -> None:
        """Store latency per statement kind (select, insert...); failed statements counted by kind of failure."""
        self.store_seconds.labels(sql.lstrip().split(None, 1)[0].lower()).observe(seconds)
        if error is not None:
            reason = ("unavailable" if isinstance(error, StoreUnavailable)
                      else "unique_violation" if isinstance(error, UniqueViolation) else "error")
            self.store_errors.labels(reason).inc()


ReadinessCheck = Callable[[], Awaitable[str | None]]
"""Returns None when ready, or the reason it is not."""


class Readiness:
    """Named readiness checks (`/health/ready` on every listener) and the `gatekeeper_ready` gauge.

    `timeout`: seconds a check may take; a database that hangs must not hang the probe."""

    def __init__(self, gauge: Gauge, *, timeout: float = 2.0) -> None:
        self.gauge, self.timeout = gauge, timeout
        self.checks: dict[str, ReadinessCheck] = {}

    async def reasons(self) -> dict[str, str]:
        """Why gatekeeper is not ready, by check name (empty: ready); updates the gauge."""
        reasons = {}
        for name, check in self.checks.items():
            try:
                reason = await asyncio.wait_for(check(), self.timeout)
            except TimeoutError:
                reason = f"did not answer within {self.timeout:g}s"
            except Exception as exc:  # noqa: BLE001 - a failing check means not ready, whatever it raised
                reason = f"{type(exc).__name__}"
            if reason:
                reasons[name] = reason
        self.gauge.set(0 if reasons else 1)
        return reasons


def caller_request_id(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The caller's X-Request-Id when it is usable (printable, at most 128 characters)."""
    for key, value in headers:
        if key == b"x-request-id":
            text = value.decode("latin-1")
            if 0 < len(text) <= 128 and text.isprintable():
                return text
    return None


class RequestLog:
    """One listener's per-request accounting: the request metrics and one access-log line. Never logs
    credentials: the line carries method, path, route, status, duration and the fields the handler adds."""

    def __init__(self, listener: str, metrics: Metrics) -> None:
        self.listener = listener
        self._requests, self._seconds = metrics.requests, metrics.request_seconds
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}  # bounded like the label sets
        self._prefix, self._ids = os.urandom(8).hex(), itertools.count()  # ids: unique, not secret

    def request_id(self, headers: Iterable[tuple[bytes, bytes]]) -> str:
        """The caller's X-Request-Id when it is usable, else a new one (32 hex digits)."""
        return caller_request_id(headers) or f"{self._prefix}{next(self._ids):016x}"

    def done(self, request_id: str, method: str, path: str, route: str, status: int, seconds: float,
             fields: dict[str, Any] | None) -> None:
        key = (route, method, status)
        children = self._children.get(key)
        if children is None:  # .labels() costs microseconds per call: resolve each series once
            children = self._children[key] = (self._requests.labels(self.listener, route, method, str(status)),
                                              self._seconds.labels(self.listener, route))
        children[0].inc()
        children[1].observe(seconds)
        if not access_log.isEnabledFor(logging.INFO):
            return
        extra = {"request_id": request_id, "listener": self.listener, "method": method, "path": path,
                 "route": route, "status": status, "duration_ms": round(seconds * 1000, 3)}
        if fields:  # e.g. the access decision (rule, subject, handlers, reason): one line per request
            extra.update(fields)
        handler = json_stream(access_log)
        if handler is None:
            access_log.info("request", extra=extra)
            return
        # the same line, without a LogRecord and the handler chain: a line per request must cost little
        assert isinstance(handler.formatter, JsonFormatter)
        line = handler.formatter.line("info", access_log.name, "request", extra)
        handler.acquire()
        try:
            handler.stream.write(line + "\n")
            handler.flush()
        finally:
            handler.release()
