"""`gatekeeper serve` as a real child process: started on free ports, its URLs read from what it prints."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_LISTENING = re.compile(r"^\s+(proxy|public|admin|api|metrics)\s+(http://\S+)$")
ROOT = Path(__file__).parent.parent.parent
SECRET = "serve-test-cookie-secret-0123456789"
LISTENER_NAMES = ("proxy", "public", "admin", "api", "metrics")


@dataclass
class ServeProcess:
    """A running `gatekeeper serve`: its URLs, its stdout lines so far and its log file (stderr)."""

    proc: subprocess.Popen[str]
    log_file: Path
    urls: dict[str, str] = field(default_factory=dict)
    stdout: list[str] = field(default_factory=list)
    lines: queue.Queue[str | None] = field(default_factory=queue.Queue)

    def __post_init__(self) -> None:
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def read_line(self, timeout: float = 15.0) -> str | None:
        """The next stdout line, or None when the process ended or printed nothing in time."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            return None
        if line is None:
            self.lines.put(None)  # stays ended
            return None
        self.stdout.append(line.rstrip("\n"))
        return self.stdout[-1]

    def wait_for_line(self, pattern: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            line = self.read_line(left)
            if line is None:
                break
            if re.search(pattern, line):
                return line
        raise AssertionError(f"no line matching {pattern!r}; stdout: {self.stdout}; log: {self.log()[-2000:]}")

    def log(self) -> str:
        return self.log_file.read_text(encoding="utf-8", errors="replace")

    def log_entries(self) -> list[dict[str, Any]]:
        """The JSON log lines written so far (a line still being written is left for the next call)."""
        complete = self.log().rpartition("\n")[0]
        return [json.loads(line) for line in complete.splitlines() if line.startswith("{")]

    def terminate(self, timeout: float = 20.0) -> int:
        """SIGTERM, then the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)


def gatekeeper_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "gatekeeper.cli", *args]


@contextmanager
def serve_process(command: Sequence[str], log_file: Path, *, env: dict[str, str] | None = None,
                  wait_listening: bool = True) -> Iterator[ServeProcess]:
    """Start `command` (a `gatekeeper serve`, or a script calling `gatekeeper.server.run.serve`), stop it afterwards.

    With `wait_listening`, waits for the "gatekeeper is listening" lines and fills `urls`.
    """
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DSN", "SERVE_", "SECRETS_", "LOG_"))}
    with log_file.open("w") as err:
        proc = subprocess.Popen(list(command), stdout=subprocess.PIPE, stderr=err, text=True, cwd=ROOT,
                                env={**clean, **(env or {})})
    running = ServeProcess(proc, log_file)
    try:
        if wait_listening:
            running.wait_for_line(r"^gatekeeper is listening:")
            while len(running.urls) < 5:
                line = running.read_line()
                match = _LISTENING.match(line or "")
                if match is None:
                    raise AssertionError(f"unexpected output {line!r}; log: {running.log()[-2000:]}")
                running.urls[match.group(1)] = match.group(2)
        yield running
    finally:
        if proc.poll() is None:  # SIGTERM first: a supervisor then stops its workers and removes its files
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def write_config(path: Path, dsn: str, *, shutdown_timeout: str = "10s", ports: dict[str, int] | None = None) -> Path:
    listeners = "".join(f"  {name}:\n    host: 127.0.0.1\n    port: {(ports or {}).get(name, 0)}\n"
                        for name in LISTENER_NAMES)
    path.write_text(f"dsn: {dsn}\nsecrets:\n  cookie: [{SECRET}]\nlog:\n  format: json\n"
                    f"serve:\n  shutdown_timeout: {shutdown_timeout}\n{listeners}")
    return path


def wait_until(predicate: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.05)


@contextmanager
def ready_gatekeeper(tmp: Path) -> Iterator[ServeProcess]:
    """`gatekeeper serve --migrate` on a fresh SQLite file in `tmp`, once ready; must exit 0 on SIGTERM."""
    import httpx

    config = write_config(tmp / "gk.yaml", f"sqlite://{tmp}/var/gk.db?_fk=true")
    with serve_process(gatekeeper_command("serve", "--config", str(config), "--migrate"), tmp / "log") as running:
        wait_until(lambda: httpx.get(f"{running.urls['public']}/health/ready").status_code == 200)
        yield running
        assert running.terminate() == 0
