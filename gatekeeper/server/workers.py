"""`serve.workers`: one supervising process and N worker processes serving the same ports.

The supervisor binds every listener once per worker with SO_REUSEPORT (the kernel spreads new connections over
the workers' sockets) and starts each worker as `gatekeeper serve` on the sockets it inherits. Then it only
watches: a worker that dies (killed by a signal, or stopped on its own) is replaced on fresh sockets; a worker
that fails (exit code > 0: pending migrations, a listener it cannot use) stops them all with that code;
SIGTERM/SIGINT is passed on and each worker drains as a single process would. Workers share nothing but the
store (sessions, the revocation broadcast, throttling, the courier's outbox) and the metrics directory
(prometheus-client's multiprocess mode), so any worker's `/metrics` answers for all of them.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from prometheus_client.multiprocess import mark_process_dead

from gatekeeper.observe import MULTIPROCESS_DIR
from gatekeeper.server.run import bind, url_of

log = logging.getLogger("gatekeeper")

RESTARTS_PER_MINUTE = 10  # more replacements than this in a minute: something is wrong, stop instead


def available_cpus() -> int:
    """The CPUs this process may use: its affinity set, or fewer when a cgroup (v2) CPU quota says so."""
    cpus = len(os.sched_getaffinity(0))
    with contextlib.suppress(OSError, ValueError):
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            cpus = min(cpus, max(1, math.ceil(int(quota) / int(period))))
    return cpus


def worker_count(setting: int | str) -> int:
    """`serve.workers` as a number of processes (`auto`: `available_cpus()`)."""
    return available_cpus() if setting == "auto" else int(setting)


@dataclass(frozen=True)
class WorkerHandles:
    """The file descriptors a worker inherits: one listening socket per listener, the write end of its readiness
    pipe (one byte once it listens) and the read end of the supervisor's pipe (end of file: the supervisor is
    gone, stop). Travels on the worker's command line as `proxy=5,...,ready=10,supervisor=11`."""

    listeners: Mapping[str, int]
    ready: int
    supervisor: int

    def format(self) -> str:
        pairs = {**self.listeners, "ready": self.ready, "supervisor": self.supervisor}
        return ",".join(f"{name}={fd}" for name, fd in pairs.items())

    @classmethod
    def parse(cls, text: str) -> WorkerHandles:
        pairs = {name: int(fd) for name, _, fd in (item.partition("=") for item in text.split(","))}
        ready, supervisor = pairs.pop("ready"), pairs.pop("supervisor")
        return cls(listeners=pairs, ready=ready, supervisor=supervisor)

    def fds(self) -> list[int]:
        return [*self.listeners.values(), self.ready, self.supervisor]


@dataclass
class _Worker:
    index: int
    proc: subprocess.Popen[bytes]
    ready_pipe: int  # read end; -1 once the worker said it listens (or died before)
    listening: bool = False


class Supervisor:
    """Starts `count` workers (`command(handles)`: the argv of one) on `addresses` and keeps them running until
    SIGTERM/SIGINT; `run()` returns the exit code."""

    def __init__(self, command: Callable[[WorkerHandles], list[str]], count: int,
                 addresses: Mapping[str, tuple[str, int]], *, env: Mapping[str, str], shutdown_timeout: float,
                 on_ready: Callable[[dict[str, str]], None]) -> None:
        self._command, self._count = command, count
        self._addresses = dict(addresses)
        self._env, self._shutdown_timeout, self._on_ready = dict(env), shutdown_timeout, on_ready
        self._workers: list[_Worker] = []
        self._urls: dict[str, str] = {}
        self._restarts: deque[float] = deque()
        self._stop_signal: int | None = None
        self._metrics_dir = ""

    def run(self) -> int:
        own_dir = MULTIPROCESS_DIR not in self._env
        self._metrics_dir = self._env.setdefault(MULTIPROCESS_DIR, tempfile.mkdtemp(prefix="gatekeeper-metrics-"))
        for stale in Path(self._metrics_dir).glob("*.db"):  # a directory kept from an earlier run
            stale.unlink()
        wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        alive_r, alive_w = os.pipe2(os.O_CLOEXEC)  # workers hold the read end; it ends when this process does
        previous_wakeup = signal.set_wakeup_fd(wake_w)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        previous[signal.SIGCHLD] = signal.signal(signal.SIGCHLD, lambda signum, frame: None)  # wakes select
        try:
            for index in range(self._count):
                if not self._start(index, alive_r):
                    return self._shutdown(1)
            log.info("started workers", extra={"workers": self._count, "metrics_dir": self._metrics_dir})
            return self._shutdown(self._watch(wake_r, alive_r))
        finally:
            signal.set_wakeup_fd(previous_wakeup)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            for fd in (wake_r, wake_w, alive_r, alive_w):
                os.close(fd)
            if own_dir:
                shutil.rmtree(self._metrics_dir, ignore_errors=True)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stop_signal = signum

    def _start(self, index: int, alive_r: int) -> bool:
        """Bind a fresh set of sockets and start worker `index` on them; False when a listener cannot be bound."""
        sockets: dict[str, socket.socket] = {}
        try:
            for name, (host, port) in self._addresses.items():
                sockets[name] = bind(host, port, reuse_port=True)
                self._addresses[name] = (host, sockets[name].getsockname()[1])  # port 0: the first bind picks it
                self._urls.setdefault(name, url_of(sockets[name]))
        except OSError as exc:
            host, port = self._addresses[name]
            log.error("cannot start", extra={"reason": f"cannot listen on {host}:{port} (serve.{name}): "
                                                       f"{exc.strerror or exc}"})
            for sock in sockets.values():
                sock.close()
            return False
        ready_r, ready_w = os.pipe2(os.O_CLOEXEC)
        handles = WorkerHandles({name: sock.fileno() for name, sock in sockets.items()}, ready_w, alive_r)
        try:
            # the argv is gatekeeper's own command line (sys.executable -m gatekeeper.cli serve ...)
            proc = subprocess.Popen(self._command(handles), env=self._env, pass_fds=handles.fds())  # noqa: S603
        finally:
            for sock in sockets.values():  # the worker holds them now
                sock.close()
            os.close(ready_w)
        self._workers.append(_Worker(index, proc, ready_r))
        return True

    def _watch(self, wake_r: int, alive_r: int) -> int:
        announced = False
        while self._stop_signal is None:
            pipes = {w.ready_pipe: w for w in self._workers if w.ready_pipe >= 0}
            readable, _, _ = select.select([wake_r, *pipes], [], [], 1.0)
            with contextlib.suppress(BlockingIOError):
                while os.read(wake_r, 512):
                    pass
            for fd in readable:
                if (worker := pipes.get(fd)) is not None:
                    worker.listening = os.read(fd, 1) == b"1"
                    os.close(fd)
                    worker.ready_pipe = -1
            if not announced and len(self._workers) == self._count and all(w.listening for w in self._workers):
                announced = True
                self._on_ready(dict(self._urls))
                log.info("gatekeeper listening", extra={"listeners": self._urls, "workers": self._count})
            for worker in [w for w in self._workers if w.proc.poll() is not None]:
                code = self._forget(worker)
                if code > 0:
                    log.error("a worker failed: stopping", extra={"pid": worker.proc.pid, "exit_code": code})
                    return code
                if self._stop_signal is not None:
                    break
                if not self._may_restart():
                    log.error("workers keep dying: stopping", extra={"restarts_per_minute": RESTARTS_PER_MINUTE})
                    return 1
                log.warning("a worker ended unexpectedly: starting a new one", extra={
                    "pid": worker.proc.pid, "exit_code": code, "signal": _signal_name(-code)})
                if not self._start(worker.index, alive_r):
                    return 1
        log.info("shutting down: stopping the workers", extra={"signal": _signal_name(self._stop_signal or 0)})
        return 0

    def _may_restart(self) -> bool:
        now = time.monotonic()
        self._restarts.append(now)
        while self._restarts and self._restarts[0] < now - 60:
            self._restarts.popleft()
        return len(self._restarts) <= RESTARTS_PER_MINUTE

    def _forget(self, worker: _Worker) -> int:
        """Drop an ended worker (its pipe, its live gauges); returns its exit code."""
        self._workers.remove(worker)
        if worker.ready_pipe >= 0:
            os.close(worker.ready_pipe)
        mark_process_dead(worker.proc.pid, self._metrics_dir)  # type: ignore[no-untyped-call]
        return worker.proc.returncode

    def _shutdown(self, code: int) -> int:
        """SIGTERM every worker, wait for them to drain (SIGKILL after the shutdown timeout and a grace second);
        returns `code`, or 1 when a worker did not stop cleanly."""
        for worker in self._workers:
            with contextlib.suppress(ProcessLookupError):
                worker.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self._shutdown_timeout + 5.0
        for worker in list(self._workers):
            try:
                worker.proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("a worker did not stop in time: killing it", extra={"pid": worker.proc.pid})
                worker.proc.kill()
                worker.proc.wait()
            if self._forget(worker) != 0 and code == 0:
                code = 1
        return code


def _signal_name(number: int) -> str:
    with contextlib.suppress(ValueError):
        return signal.Signals(number).name
    return str(number)
