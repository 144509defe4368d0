"""What the foundation costs per request: a listener's middleware (request id, access-log line, metrics).

Rows (wrk, 1 thread pinned to CPU 0, 50 connections; servers pinned to CPU 1):
- anchor: a bare Starlette hello under uvicorn (uvloop, httptools), the ceiling for any listener;
- gatekeeper's admin listener answering `/health/alive`, with the JSON access-log line at `log.level: info`
  (written to a file) and without it (`log.level: warning`).

    .venv/bin/python -m bench.foundation [seconds]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from bench.common import free_port, process, report, wrk

HELLO = """
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
async def alive(request): return JSONResponse({"status": "ok"})
app = Starlette(routes=[Route("/health/alive", alive)])
"""


def _config(path: Path, level: str, ports: dict[str, int]) -> Path:
    listeners = "".join(f"  {name}: {{host: 127.0.0.1, port: {port}}}\n" for name, port in ports.items())
    path.write_text(f"dsn: memory\nsecrets:\n  cookie: [bench-cookie-secret-0123456789]\n"
                    f"log: {{level: {level}, format: json}}\nserve:\n{listeners}")
    return path


def main(seconds: int, server_cpu: int | None = 1) -> dict[str, float]:
    work = Path(tempfile.mkdtemp(prefix="gk-bench-foundation-"))
    (work / "hello.py").write_text(HELLO)
    hello = free_port()
    rows = []
    hello_cmd = [sys.executable, "-m", "uvicorn", "hello:app", "--port", str(hello), "--log-level", "error",
                 "--no-access-log", "--loop", "uvloop", "--http", "httptools", "--app-dir", str(work)]
    with process(hello_cmd, ports=[hello], cpu=server_cpu):
        rows.append(("starlette hello (anchor)", wrk(f"http://127.0.0.1:{hello}/health/alive", seconds=seconds)))
    for level, label in (("info", "gatekeeper /health/alive, access log on"),
                         ("warning", "gatekeeper /health/alive, access log off")):
        ports = {name: free_port() for name in ("proxy", "public", "admin", "api", "metrics")}
        config = _config(work / f"{level}.yaml", level, ports)
        cmd = [sys.executable, "-m", "gatekeeper.cli", "serve", "--config", str(config), "--migrate"]
        with process(cmd, ports=[ports["admin"]], cpu=server_cpu, log=work / f"{level}.log"):
            rows.append((label, wrk(f"http://127.0.0.1:{ports['admin']}/health/alive", seconds=seconds)))
    report("listener overhead (wrk -t1 -c50)", rows, anchor="starlette hello (anchor)")
    base = rows[0][1].rps
    return {"log_on_ratio": rows[1][1].rps / base, "log_off_ratio": rows[2][1].rps / base}


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
