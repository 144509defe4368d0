"""Three real `gatekeeper serve` processes on one PostgreSQL database (through a TCP proxy the test controls),
in front of one upstream, delivering mail to one SMTP sink: the scale-out proof on one machine."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import yaml

from gatekeeper.config.dsn import Dsn
from tests.support.ci import unavailable
from tests.support.databases import create_postgres_database, drop_postgres_database
from tests.support.process import SECRET, ServeProcess, gatekeeper_command, serve_process, wait_until
from tests.support.smtp import SmtpSink
from tests.support.tcpproxy import TcpProxy, tcp_proxy

PASSWORD = "a-long-and-unusual-password-4711"
PUBLIC_BASE = "http://gatekeeper.test"  # the load balancer in front of the replicas, as the flows' URLs name it


class Upstream:
    """The protected app: answers 200 and records every request it received (path, X-User-Id).

    `host` "0.0.0.0" makes it reachable from containers too (through the Docker host gateway)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.hits: list[tuple[str, str]] = []
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                hits.append((self.path, self.headers.get("X-User-Id", "")))
                body = b"upstream"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Cluster:
    dsn: str  # direct
    proxied_dsn: str  # through the TCP proxy (what the replicas use)
    db_proxy: TcpProxy | None  # None on SQLite
    upstream: Upstream
    mailbox: SmtpSink
    tmp: Path
    replicas: list[ServeProcess] = field(default_factory=list)
    stack: ExitStack = field(default_factory=ExitStack)

    def start_replica(self, name: str, workers: int = 1) -> ServeProcess:
        config = write_replica_config(self.tmp / f"{name}.yaml", self.proxied_dsn, self.tmp / "rules.yaml",
                                      self.smtp_uri, workers=workers)
        running = self.stack.enter_context(
            serve_process(gatekeeper_command("serve", "--config", str(config), "--migrate"), self.tmp / f"{name}.log"))
        wait_until(lambda: ready(running), timeout=40)
        return running

    smtp_uri: str = ""


def ready(replica: ServeProcess) -> bool:
    try:
        return httpx.get(f"{replica.urls['public']}/health/ready", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def write_replica_config(path: Path, dsn: str, rules: Path, smtp_uri: str, *, workers: int = 1) -> Path:
    listeners = {name: {"host": "127.0.0.1", "port": 0} for name in ("proxy", "public", "admin", "api", "metrics")}
    listeners["public"]["base_url"] = PUBLIC_BASE
    config = {
        "dsn": dsn, "secrets": {"cookie": [SECRET]}, "log": {"format": "json", "level": "info"},
        "serve": {**listeners, "shutdown_timeout": "2s", "workers": workers},
        "session": {"cache_ttl": "60s", "cookie": {"secure": False}},  # only the broadcast can explain a refusal
        "hashers": {"algorithm": "bcrypt", "bcrypt": {"cost": 4}},
        "selfservice": {
            "default_browser_return_url": "http://app.test/",
            "flows": {"login": {"throttling": {"per_identifier": 3, "window": "15m"}},
                      "registration": {"after": {"password": {"hooks": [{"hook": "session"}]}}}},
        },
        "courier": {"smtp": {"connection_uri": smtp_uri}, "worker": {"pull_wait": "100ms", "pull_count": 3,
                                                                   "claim_lease": "4s"}},
        "access_rules": {"repositories": [f"file://{rules}"], "matching_strategy": "glob"},
        "authenticators": {"cookie_session": {"enabled": True}, "bearer_token": {"enabled": True}},
        "authorizers": {"allow": {"enabled": True}},
        "mutators": {"header": {"enabled": True}},
        "errors": {"fallback": ["json"], "handlers": {"json": {"enabled": True}}},
    }
    path.write_text(yaml.safe_dump(config))
    return path


def write_rules(path: Path, upstream: str) -> None:
    rules = [{
        "id": "app", "match": {"url": "http://127.0.0.1:<*>/app/<**>", "methods": ["GET"]},
        "upstream": {"url": upstream},
        "authenticators": [{"handler": "cookie_session"}, {"handler": "bearer_token"}],
        "authorizer": {"handler": "allow"},
        "mutators": [{"handler": "header", "config": {"headers": {"X-User-Id": "{{ print .Subject }}"}}}],
    }]
    path.write_text(json.dumps(rules))


@contextmanager
def cluster(tmp: Path, size: int = 3, *, sqlite: bool = False, workers: int = 1) -> Iterator[Cluster]:
    """`size` replicas (each of `workers` processes) on a fresh PostgreSQL database behind a TcpProxy, or
    (`sqlite`) on one SQLite file."""
    with ExitStack() as stack:
        if sqlite:
            dsn = proxied = f"sqlite://{tmp}/gatekeeper.db?_fk=true"
            db_proxy = None
        else:
            dsn, why = create_postgres_database()
            if dsn is None:
                unavailable(why)
            stack.callback(drop_postgres_database, dsn)
            parts = urlsplit(dsn)
            db_proxy = stack.enter_context(tcp_proxy(parts.hostname or "127.0.0.1", parts.port or 5432))
            proxied = f"postgres://{parts.username}@127.0.0.1:{db_proxy.port}{parts.path}"
        upstream = Upstream()
        stack.callback(upstream.close)
        mailbox = stack.enter_context(SmtpSink().threaded())
        write_rules(tmp / "rules.yaml", upstream.url)
        found = Cluster(dsn=Dsn.parse(dsn).url, proxied_dsn=proxied, db_proxy=db_proxy, upstream=upstream,
                        mailbox=mailbox, tmp=tmp, smtp_uri=mailbox.uri(query="disable_starttls=true"))
        stack.enter_context(found.stack)
        for i in range(size):
            found.replicas.append(found.start_replica("abc"[i], workers))
        yield found


def eventually(predicate: Any, timeout: float, interval: float = 0.02) -> float:
    """Seconds until `predicate()` held; AssertionError after `timeout`."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not reached within {timeout}s")
        time.sleep(interval)
    return time.monotonic() - start
