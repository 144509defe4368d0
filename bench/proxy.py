"""Access benchmarks, side by side in one run on this machine (`python -m bench.proxy [--seconds 10]`).

Anchors and gatekeeper run pinned to CPU 1, wrk (1 thread, keep-alive, 50 connections) to CPU 0:

- upstream: nginx answering a small static body (the app behind every proxy below)
- anchor:   nginx `proxy_pass` to that upstream (= 1.0), a bare Starlette hello (uvicorn, uvloop), nginx
            `auth_request` to that hello, and nginx `auth_request` to a raw asyncio + httptools hello (the ceiling
            for any decision endpoint in this set-up: it answers as fast as nginx itself); a raw asyncio + httptools
            proxy with no rules (`bench.dataplane_server`'s RawProxy: the least a Python proxy does, P1's ceiling)
- gatekeeper proxy (:4455) through a `cookie_session` + `header` rule, session cache warm (P1, target >= 0.30)
- nginx `auth_request` -> gatekeeper decisions (same rule) -> upstream (P2, target >= 0.40)
- added p50 latency of the gatekeeper proxy vs the upstream directly, 1 connection (P3, target <= 0.15 ms)

gatekeeper runs as `gatekeeper serve` in its own process (uvloop, httptools), with a real SQLite store and
a session created through the registration API, logging at info (one decision line per request) to /dev/null.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml

from bench.common import NGINX, WRK, WrkResult, free_port, nginx, process, profile_summary, profiled, report, wrk

PASSWORD = "bench-password-correct-horse"  # noqa: S105
HELLO = """from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
async def hello(request): return PlainTextResponse("hello")
app = Starlette(routes=[Route("/{p:path}", hello)])
"""


def auth_request_server(port: int, checker: str) -> str:
    """An nginx server asking upstream `checker` before proxying to the app."""
    return f"""server {{ listen 127.0.0.1:{port};
    location / {{ auth_request /_check; proxy_pass http://app; proxy_http_version 1.1;
                 proxy_set_header Connection ""; }}
    location = /_check {{ internal; proxy_pass http://{checker}/decisions; proxy_pass_request_body off;
        proxy_set_header Content-Length ""; proxy_http_version 1.1; proxy_set_header Connection ""; }}
}}"""


def nginx_conf(upstream: int, anchor: int, auth: int, decisions: str, auth_hello: int, hello: str, auth_raw: int,
               raw: str, collector: int) -> str:
    return f"""
server {{ listen 127.0.0.1:{collector}; location = /v1/traces {{ return 200; }} }}
upstream app {{ server 127.0.0.1:{upstream}; keepalive 128; }}
upstream decisions {{ server {decisions}; keepalive 128; }}
upstream hello {{ server {hello}; keepalive 128; }}
upstream raw {{ server {raw}; keepalive 128; }}
{auth_request_server(auth_hello, "hello")}
{auth_request_server(auth_raw, "raw")}
server {{ listen 127.0.0.1:{upstream}; location / {{ return 200 "hello from the upstream\\n"; }} }}
server {{ listen 127.0.0.1:{anchor};
    location / {{ proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }} }}
server {{ listen 127.0.0.1:{auth};
    location / {{
        auth_request /_decision;
        auth_request_set $user $upstream_http_x_user_id;
        proxy_set_header X-User-Id $user;
        proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection "";
    }}
    location = /_decision {{
        internal;
        proxy_pass http://decisions/decisions;
        proxy_pass_request_body off;
        proxy_set_header Content-Length "";
        proxy_set_header X-Forwarded-Method $request_method;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Forwarded-Host $http_host;
        proxy_set_header X-Forwarded-Uri $request_uri;
        proxy_http_version 1.1; proxy_set_header Connection "";
    }}
}}
"""


def gatekeeper_config(work: Path, ports: dict[str, int], upstream: int,
                      tracing: tuple[int, float] | None = None) -> Path:
    """`tracing`: (the port of an OTLP/HTTP sink, the sampling ratio); given, gatekeeper traces and exports there."""
    rules = work / "rules.yaml"
    rules.write_text(yaml.safe_dump([{
        "id": "bench", "match": {"url": "http://127.0.0.1:<*>/<**>", "methods": ["GET"]},
        "upstream": {"url": f"http://127.0.0.1:{upstream}"},
        "authenticators": [{"handler": "cookie_session"}], "authorizer": {"handler": "allow"},
        "mutators": [{"handler": "header", "config": {"headers": {
            "X-User-Id": "{{ print .Subject }}", "X-User-Email": "{{ print .Extra.identity.traits.email }}"}}}],
    }]))
    config = {
        "dsn": f"sqlite://{work}/bench.db?_fk=true",
        "log": {"level": os.environ.get("BENCH_LOG_LEVEL", "info"), "format": "json"},
        "secrets": {"cookie": ["bench-cookie-secret-0123456789"]},
        "serve": {name: {"host": "127.0.0.1", "port": port} for name, port in ports.items()},
        "selfservice": {"methods": {"password": {"config": {"haveibeenpwned_enabled": False}}},
                        "flows": {"registration": {"after": {"password": {"hooks": [{"hook": "session"}]}}}}},
        "access_rules": {"matching_strategy": "glob", "repositories": [f"file://{rules}"]},
        "authenticators": {"cookie_session": {"enabled": True}}, "authorizers": {"allow": {"enabled": True}},
        "mutators": {"header": {"enabled": True}},
    }
    if tracing is not None:
        config["tracing"] = {"provider": "otel", "providers": {"otlp": {
            "server_url": f"127.0.0.1:{tracing[0]}", "insecure": True, "sampling": {"sampling_ratio": tracing[1]}}}}
    path = work / "gatekeeper.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def session_token(public: str) -> str:
    with httpx.Client(base_url=public, timeout=30) as client:
        flow = client.get("/self-service/registration/api").json()
        response = client.post(f"/self-service/registration?flow={flow['id']}", json={
            "method": "password", "password": PASSWORD, "traits": {"email": "bench@example.com"}})
        response.raise_for_status()
        return str(response.json()["session_token"])


def wait_ready(url: str) -> None:
    for _ in range(300):
        try:
            if httpx.get(f"{url}/health/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} never became ready")


def main(seconds: int, server_cpu: int | None = 1, profile: Path | None = None,
         tracing: float | None = None) -> dict[str, float]:
    """`tracing`: a sampling ratio; given, gatekeeper traces (a span tree per sampled request) and exports over
    OTLP/HTTP to a sink (nginx answering 200), so the rows show what tracing costs."""
    if NGINX is None or WRK is None:
        raise SystemExit("nginx and wrk are needed (make system-deps)")
    work = Path(tempfile.mkdtemp(prefix="gk-bench-"))
    upstream, anchor, auth, hello, auth_hello = free_port(), free_port(), free_port(), free_port(), free_port()
    raw, auth_raw, raw_proxy, collector = free_port(), free_port(), free_port(), free_port()
    ports = {name: free_port() for name in ("proxy", "public", "admin", "api", "metrics")}
    (work / "hello.py").write_text(HELLO)
    gk_cmd = [sys.executable, "-m", "gatekeeper.cli", "serve", "--config",
              str(gatekeeper_config(work, ports, upstream, None if tracing is None else (collector, tracing))),
              "--migrate"]
    hello_cmd = [sys.executable, "-m", "uvicorn", "hello:app", "--port", str(hello), "--log-level", "error",
                 "--no-access-log", "--loop", "uvloop", "--http", "httptools", "--app-dir", str(work)]
    raw_cmd = [sys.executable, "-m", "bench.dataplane_server", "--serve", "raw", "--port", str(raw)]
    raw_proxy_cmd = [sys.executable, "-m", "bench.dataplane_server", "--serve", "rawproxy", "--port", str(raw_proxy),
                     "--upstream", str(upstream)]
    rows: list[tuple[str, WrkResult]] = []
    conf = nginx_conf(upstream, anchor, auth, f"127.0.0.1:{ports['api']}", auth_hello, f"127.0.0.1:{hello}",
                      auth_raw, f"127.0.0.1:{raw}", collector)
    with nginx(conf, ports=[upstream, anchor, auth, auth_hello, auth_raw, collector], cpu=server_cpu), \
            process(hello_cmd, ports=[hello], cpu=server_cpu), process(raw_cmd, ports=[raw], cpu=server_cpu), \
            process(raw_proxy_cmd, ports=[raw_proxy], cpu=server_cpu), \
            process(gk_cmd, ports=[ports["proxy"], ports["api"]], cpu=server_cpu, log=work / "gatekeeper.log") as gk:
        wait_ready(f"http://127.0.0.1:{ports['api']}")
        token = session_token(f"http://127.0.0.1:{ports['public']}")
        cookie = f"Cookie: ory_kratos_session={token}"
        proxy_url = f"http://127.0.0.1:{ports['proxy']}/app"
        check = httpx.get(proxy_url, headers={"Cookie": f"ory_kratos_session={token}"})
        if check.status_code != 200:
            raise SystemExit(f"gatekeeper did not let the benchmark session through: {check.status_code}")
        wrk(proxy_url, seconds=2, headers=[cookie])  # warm up
        wrk(f"http://127.0.0.1:{auth}/app", seconds=2, headers=[cookie])
        rows.append(("nginx proxy_pass (anchor)", wrk(f"http://127.0.0.1:{anchor}/app", seconds=seconds)))
        rows.append(("starlette hello (anchor)", wrk(f"http://127.0.0.1:{hello}/app", seconds=seconds)))
        rows.append(("nginx auth_request -> starlette hello (anchor)",
                     wrk(f"http://127.0.0.1:{auth_hello}/app", seconds=seconds)))
        rows.append(("nginx auth_request -> raw httptools hello (anchor)", wrk(f"http://127.0.0.1:{auth_raw}/app",
                                                                      seconds=seconds)))
        rows.append(("raw httptools proxy, no rules (anchor)", wrk(f"http://127.0.0.1:{raw_proxy}/app",
                                                                   seconds=seconds)))
        rows.append(("gatekeeper proxy, cookie_session+header", wrk(proxy_url, seconds=seconds, headers=[cookie])))
        rows.append(("nginx auth_request -> gatekeeper decisions",
                     wrk(f"http://127.0.0.1:{auth}/app", seconds=seconds, headers=[cookie])))
        direct1 = wrk(f"http://127.0.0.1:{upstream}/app", connections=1, seconds=seconds)
        proxy1 = wrk(proxy_url, connections=1, seconds=seconds, headers=[cookie])
        if profile is not None:
            with profiled(gk.pid, seconds, profile):
                wrk(proxy_url, seconds=seconds, headers=[cookie])
    traced = ", tracing off" if tracing is None else f", tracing on (sampling ratio {tracing:g})"
    report(f"50 connections, {seconds}s each (wrk -t1, pinned){traced}", rows, "nginx proxy_pass (anchor)")
    base = rows[0][1].rps
    results = {
        "proxy_ratio": rows[5][1].rps / base,
        "decisions_ratio": rows[6][1].rps / base,
        "raw_proxy_ratio": rows[4][1].rps / base,
        "hello_ratio": rows[1][1].rps / base,
        "auth_request_hello_ratio": rows[2][1].rps / base,
        "auth_request_raw_ratio": rows[3][1].rps / base,
        "added_p50_ms_1conn": proxy1.p50_ms - direct1.p50_ms,
        "proxy_rps": rows[5][1].rps,
        "proxy_p50_ms_1conn": proxy1.p50_ms,
    }
    print(f"\n1 connection: upstream direct p50 {direct1.p50_ms:.3f} ms, through gatekeeper {proxy1.p50_ms:.3f} ms "
          f"-> added p50 {results['added_p50_ms_1conn']:.3f} ms (target <= 0.15)")
    print(f"targets: proxy {results['proxy_ratio']:.3f} (>= 0.30), auth_request {results['decisions_ratio']:.3f} "
          f"(>= 0.40)")
    print(json.dumps({k: round(v, 4) for k, v in results.items()}))
    if profile is not None:
        print(f"\nprofile of the gatekeeper proxy under wrk -c50 (collapsed stacks in {profile}):")
        print(profile_summary(profile))
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--unpinned-servers", action="store_true",
                        help="let nginx, the hello app and gatekeeper use every CPU (wrk stays on CPU 0)")
    parser.add_argument("--profile", type=Path, metavar="FILE",
                        help="also profile the proxy row with py-spy: collapsed stacks to FILE, a summary printed")
    parser.add_argument("--tracing", type=float, nargs="?", const=1.0, metavar="RATIO",
                        help="gatekeeper traces (sampling ratio RATIO, default 1: every request) and exports the spans "
                             "over OTLP/HTTP to a local sink")
    args = parser.parse_args()
    main(args.seconds, None if args.unpinned_servers else 1, args.profile, args.tracing)
