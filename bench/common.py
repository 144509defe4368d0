"""Shared benchmark harness: free ports, a real nginx from a config snippet, processes pinned to a core,
wrk runs (1 thread, pinned, keep-alive), ratio printing and py-spy profiles. Also used by tests that need a real
nginx."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
WRK = shutil.which("wrk")
TASKSET = shutil.which("taskset")
PY_SPY = shutil.which("py-spy", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 15.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


def pinned(cmd: Sequence[str], cpu: int | None) -> list[str]:
    if cpu is None or TASKSET is None or (os.cpu_count() or 1) <= cpu:
        return list(cmd)
    return [TASKSET, "-c", str(cpu), *cmd]


@contextlib.contextmanager
def process(cmd: Sequence[str], *, ports: Sequence[int], cpu: int | None = None, env: dict | None = None,
            log: Path | None = None) -> Iterator[subprocess.Popen]:
    """Start a process (optionally pinned), wait until it listens on `ports`, stop it afterwards."""
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(pinned(cmd, cpu), stdout=out, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)
    try:
        for port in ports:
            wait_for_port(port, proc=proc)
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if log:
            out.close()  # type: ignore[union-attr]


@contextlib.contextmanager
def nginx(http_conf: str, *, ports: Sequence[int], cpu: int | None = None, workers: int = 1) -> Iterator[Path]:
    """A real nginx (Debian package) running `http_conf` inside `http {}`; yields its work directory."""
    if NGINX is None:
        raise RuntimeError("nginx is not installed")
    work = Path(tempfile.mkdtemp(prefix="gk-nginx-"))
    temp = "\n".join(f"{name}_temp_path {work}/{name};" for name in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                                       "scgi"))
    (work / "nginx.conf").write_text(f"""
daemon off;
master_process on;
worker_processes {workers};
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    {temp}
    {http_conf}
}}
""")
    try:
        with process([NGINX, "-p", str(work), "-c", str(work / "nginx.conf")], ports=ports, cpu=cpu,
                     log=work / "stdout.log"):
            yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def fill(template: str, **values: str) -> str:
    """Fill `${NAME}` placeholders (the envsubst syntax of the deploy/ examples), leaving nginx `$vars` alone."""
    def sub(m: re.Match[str]) -> str:
        return values[m.group(1)] if m.group(1) in values else m.group(0)

    return re.sub(r"\$\{([A-Z_]+)\}", sub, template)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time process `pid` has used so far (all its threads), from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    if not m:
        return float("nan")
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def wrk(url: str, *, connections: int = 50, seconds: int = 10, headers: Sequence[str] = (), cpu: int | None = 0,
        script: Path | None = None) -> WrkResult:
    """One wrk run: 1 thread pinned to `cpu`, keep-alive, `connections` connections (`script`: wrk's Lua)."""
    if WRK is None:
        raise RuntimeError("wrk is not installed")
    cmd = [WRK, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", *(["-s", str(script)] if script else [])]
    for header in headers:
        cmd += ["-H", header]
    out = subprocess.run(pinned([*cmd, url], cpu), capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    # the latency distribution's lines (a "+/- Stdev" column such as 71.50% must not match)
    p50 = re.search(r"^\s*50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s*99%\s+(\S+)", out, re.M)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return WrkResult(rps, _ms(p50.group(1)) if p50 else float("nan"), _ms(p99.group(1)) if p99 else float("nan"),
                     int(non2xx.group(1)) if non2xx else 0)


def report(title: str, rows: Sequence[tuple[str, WrkResult]], anchor: str) -> None:
    """Print requests/s, latency and the ratio to the anchor row."""
    base = dict(rows)[anchor].rps
    print(f"\n{title}", file=sys.stdout)
    print(f"{'':44} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>7} {'errors':>7}")
    for name, r in rows:
        print(f"{name:44} {r.rps:10.0f} {r.p50_ms:8.3f} {r.p99_ms:8.3f} {r.rps / base:7.3f} {r.non_2xx:7d}")
    sys.stdout.flush()


@contextlib.contextmanager
def profiled(pid: int, seconds: int, out: Path) -> Iterator[None]:
    """py-spy samples process `pid` for `seconds` while the block runs; collapsed stacks go to `out`."""
    if PY_SPY is None:
        raise RuntimeError("py-spy is not installed (the bench extra)")
    spy = subprocess.Popen([PY_SPY, "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "200",
                            "--format", "raw", "--nonblocking", "--output", str(out)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)  # py-spy attaches
        yield
    finally:
        spy.wait(timeout=seconds + 60)


def profile_summary(collapsed: Path, top: int = 25) -> str:
    """The functions with the most samples in py-spy's collapsed stacks: on the stack (inclusive) and running
    themselves (self), in % of all samples."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]
        samples = int(count)
        total += samples
        own[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    lines = [f"{total} samples"]
    for title, counter in (("inclusive", inclusive), ("self", own)):
        lines.append(f"\n{title} %   function (file)")
        lines += [f"{100 * n / total:7.1f}   {frame}" for frame, n in counter.most_common(top)]
    return "\n".join(lines)
