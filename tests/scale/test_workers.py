"""`serve.workers: 2`: one supervising process and two workers on the same ports, on SQLite and PostgreSQL. New
connections reach both workers, a session works on either and its revocation reaches both, one scrape counts
every worker's requests, a killed worker is replaced, and SIGTERM drains and stops them all."""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import yaml

from tests.scale.cluster import Cluster, cluster, eventually
from tests.scale.test_replicas import register_api, through_proxy
from tests.support.process import ServeProcess, gatekeeper_command, serve_process

PASSWORD = "a-long-and-unusual-password-4711"


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def two_workers(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with cluster(tmp_path_factory.mktemp("workers"), size=1, sqlite=request.param == "sqlite", workers=2) as running:
        yield running


def workers_of(supervisor: ServeProcess) -> set[int]:
    pid = supervisor.proc.pid
    return {int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


def answering_workers(url: str, connections: int = 40) -> set[str]:
    """The workers that answered `connections` requests on new connections, told apart by their request-id
    prefix (each process draws its own)."""
    return {httpx.get(url, timeout=10).headers["x-request-id"][:16] for _ in range(connections)}


def requests_counted(supervisor: ServeProcess, listener: str, route: str) -> float:
    text = httpx.get(f"{supervisor.urls['metrics']}/metrics", timeout=10).text
    pattern = (rf'^gatekeeper_http_requests_total\{{listener="{listener}",method="GET",route="{re.escape(route)}",'
               rf'status="200"\}} (\S+)$')
    return sum(float(m.group(1)) for m in re.finditer(pattern, text, re.MULTILINE))


def test_new_connections_reach_both_workers(two_workers: Cluster) -> None:
    supervisor = two_workers.replicas[0]
    assert len(workers_of(supervisor)) == 2
    assert len(answering_workers(f"{supervisor.urls['public']}/health/alive")) == 2
    assert len(answering_workers(f"{supervisor.urls['proxy']}/health/alive")) == 2


def test_a_session_works_on_every_worker_and_its_revocation_reaches_them_all(two_workers: Cluster) -> None:
    supervisor = two_workers.replicas[0]
    token = register_api(supervisor, "both-workers@example.com")
    assert [through_proxy(supervisor, token) for _ in range(20)] == [200] * 20  # cached by both by now
    revoked = httpx.request("DELETE", f"{supervisor.urls['public']}/self-service/logout/api",
                            json={"session_token": token})
    assert revoked.status_code == 204
    eventually(lambda: [through_proxy(supervisor, token) for _ in range(20)] == [401] * 20, timeout=10)


def test_one_scrape_counts_the_requests_of_every_worker(two_workers: Cluster) -> None:
    supervisor = two_workers.replicas[0]
    before = requests_counted(supervisor, "public", "/health/alive")
    assert len(answering_workers(f"{supervisor.urls['public']}/health/alive", 30)) == 2
    # whichever worker answers the scrape, it reports both workers' requests
    assert {requests_counted(supervisor, "public", "/health/alive") for _ in range(10)} == {before + 30}


def test_a_killed_worker_is_replaced_and_its_counts_are_kept(two_workers: Cluster) -> None:
    supervisor = two_workers.replicas[0]
    counted = requests_counted(supervisor, "public", "/health/alive")
    first, second = sorted(workers_of(supervisor))
    os.kill(first, signal.SIGKILL)
    eventually(lambda: len(workers_of(supervisor)) == 2 and first not in workers_of(supervisor), timeout=20)
    assert second in workers_of(supervisor)
    eventually(lambda: len(answering_workers(f"{supervisor.urls['public']}/health/alive", 20)) == 2, timeout=20)
    assert requests_counted(supervisor, "public", "/health/alive") >= counted + 20
    assert any(entry["msg"] == "a worker ended unexpectedly: starting a new one" and entry["signal"] == "SIGKILL"
               for entry in supervisor.log_entries())


def dev_config(path: Path, dsn: str) -> Path:
    """No secrets: `--dev` generates them (once, in the supervisor)."""
    listeners = {name: {"host": "127.0.0.1", "port": 0} for name in ("proxy", "public", "admin", "api", "metrics")}
    path.write_text(yaml.safe_dump({"dsn": dsn, "log": {"format": "json"},
                                    "serve": {**listeners, "workers": 2, "shutdown_timeout": "2s"}}))
    return path


def browser_flow(browser: httpx.Client, public: str, kind: str, form: dict[str, str]) -> httpx.Response:
    """Start a browser flow and submit `form` with its CSRF token (to `public`: the flow names its base URL)."""
    started = browser.get(f"{public}/self-service/{kind}/browser")
    flow_id = parse_qs(urlsplit(started.headers["location"]).query)["flow"][0]
    flow = browser.get(f"{public}/self-service/{kind}/flows", params={"id": flow_id}).json()
    csrf = next(n["attributes"]["value"] for n in flow["ui"]["nodes"] if n["attributes"].get("name") == "csrf_token")
    action = urlsplit(flow["ui"]["action"])
    return browser.post(f"{public}{action.path}?{action.query}", data={"csrf_token": csrf, **form})


def test_dev_workers_share_the_generated_secrets_and_sigterm_stops_them_all(tmp_path: Path) -> None:
    config = dev_config(tmp_path / "gk.yaml", f"sqlite://{tmp_path}/gk.db?_fk=true")
    command = gatekeeper_command("serve", "--dev", "--migrate", "--config", str(config))
    with serve_process(command, tmp_path / "serve.log") as supervisor:
        public = supervisor.urls["public"]
        eventually(lambda: httpx.get(f"{public}/health/ready", timeout=5).status_code == 200, timeout=30)
        with httpx.Client(timeout=10, limits=httpx.Limits(max_keepalive_connections=0)) as browser:
            # every request on a new connection: one worker's CSRF cookie is checked by either
            account = {"password": PASSWORD, "method": "password"}
            registered = browser_flow(browser, public, "registration", {**account, "traits.email": "dev@example.com"})
            assert registered.status_code == 303, registered.text
            signed_in = browser_flow(browser, public, "login", {**account, "identifier": "dev@example.com"})
            assert signed_in.status_code == 303, signed_in.text
            # the session cookie one worker signed is accepted by both
            assert [browser.get(f"{public}/sessions/whoami").status_code for _ in range(20)] == [200] * 20
        workers = workers_of(supervisor)
        assert supervisor.terminate() == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)
    assert [e["msg"] for e in supervisor.log_entries()].count("shutting down: draining in-flight requests") == 2


def test_a_worker_that_cannot_start_stops_the_supervisor_with_its_exit_code(tmp_path: Path) -> None:
    config = dev_config(tmp_path / "gk.yaml", f"sqlite://{tmp_path}/gk.db?_fk=true")
    command = gatekeeper_command("serve", "--dev", "--config", str(config))  # no --migrate on a new database
    with serve_process(command, tmp_path / "serve.log", wait_listening=False) as supervisor:
        assert supervisor.proc.wait(60) == 1
    messages = [(e["msg"], e.get("reason", "")) for e in supervisor.log_entries()]
    assert any(msg == "cannot start" and "pending migrations" in reason for msg, reason in messages)
    assert any(msg == "a worker failed: stopping" for msg, _ in messages)


def test_workers_stop_when_their_supervisor_is_killed(tmp_path: Path) -> None:
    config = dev_config(tmp_path / "gk.yaml", f"sqlite://{tmp_path}/gk.db?_fk=true")
    command = gatekeeper_command("serve", "--dev", "--migrate", "--config", str(config))
    metrics = tmp_path / "metrics"  # a killed supervisor cannot remove the directory it would have made
    metrics.mkdir()
    with serve_process(command, tmp_path / "serve.log", env={"PROMETHEUS_MULTIPROC_DIR": str(metrics)}) as supervisor:
        workers = workers_of(supervisor)
        supervisor.proc.kill()
        supervisor.proc.wait(10)
        eventually(lambda: not any(Path(f"/proc/{pid}").exists() for pid in workers), timeout=15)
    assert [e["msg"] for e in supervisor.log_entries()].count("the supervisor is gone: stopping this worker") == 2
