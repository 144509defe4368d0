"""Observability as an operator sees it: one JSON log line per request, request ids, no credentials in logs,
Prometheus metrics per listener and route, store latency and build info."""

from __future__ import annotations

import json
import logging
import re
import textwrap
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from gatekeeper import __version__
from gatekeeper.errors import StoreError, UniqueViolation
from gatekeeper.http.errors import EXCEPTION_HANDLERS
from gatekeeper.http.observer import RequestObserver
from gatekeeper.observe import JsonFormatter, Metrics
from gatekeeper.store import Store
from tests.support.process import (
    LISTENER_NAMES,
    SECRET,
    ServeProcess,
    gatekeeper_command,
    ready_gatekeeper,
    serve_process,
    wait_until,
    write_config,
)
from tests.support.servers import Instance, serving

COOKIE_VALUE = "MTcwMDAwMDAwMHxzZWNyZXQtc2Vzc2lvbi1jb29raWU"
TOKEN = "ory_st_tokenvalue0123456789"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    with ready_gatekeeper(tmp_path_factory.mktemp("observe")) as running:
        yield running


def request_lines(running: ServeProcess) -> list[dict[str, object]]:
    return [e for e in running.log_entries() if e["msg"] == "request"]


def wait_logged(running: ServeProcess, request_id: str) -> dict[str, object]:
    found: list[dict[str, object]] = []
    wait_until(lambda: found.extend(e for e in request_lines(running) if e["request_id"] == request_id) or found)
    return found[0]


@pytest.mark.parametrize("listener", LISTENER_NAMES)
def test_one_json_log_line_per_request_with_the_callers_request_id(served: ServeProcess, listener: str) -> None:
    request_id = f"req-{listener}-42"
    response = httpx.get(f"{served.urls[listener]}/health/alive", headers={"X-Request-Id": request_id})
    assert response.headers["x-request-id"] == request_id
    entry = wait_logged(served, request_id)
    assert {k: entry[k] for k in ("level", "logger", "listener", "method", "path", "route", "status")} == {
        "level": "info", "logger": "gatekeeper.access_log", "listener": listener, "method": "GET",
        "path": "/health/alive", "route": "/health/alive", "status": 200}
    assert isinstance(entry["duration_ms"], float) and entry["duration_ms"] >= 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", str(entry["time"]))


def test_a_request_without_an_id_gets_one_in_the_response_and_the_log(served: ServeProcess) -> None:
    response = httpx.get(f"{served.urls['admin']}/no/such/thing")
    request_id = response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    entry = wait_logged(served, request_id)
    assert (entry["status"], entry["path"], entry["route"]) == (404, "/no/such/thing", "<unmatched>")


@pytest.mark.parametrize("bad_id", ["x" * 200, "tab\tinside"])
def test_an_unusable_request_id_is_replaced(served: ServeProcess, bad_id: str) -> None:
    response = httpx.get(f"{served.urls['admin']}/health/alive", headers={"X-Request-Id": bad_id})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


def test_cookies_tokens_and_secrets_never_reach_the_log(served: ServeProcess) -> None:
    secret_headers = {"Cookie": f"ory_kratos_session={COOKIE_VALUE}; csrf_token=csrfvalue123456",
                      "Authorization": f"Bearer {TOKEN}", "X-Session-Token": TOKEN, "X-Request-Id": "leak-check"}
    for listener in LISTENER_NAMES:
        httpx.get(f"{served.urls[listener]}/health/ready", headers=secret_headers)
        httpx.get(f"{served.urls[listener]}/whatever", headers=secret_headers)
    wait_until(lambda: len([e for e in request_lines(served) if e["request_id"] == "leak-check"]) == 10)
    log = served.log()
    for value in (COOKIE_VALUE, "csrfvalue123456", TOKEN, SECRET):
        assert value not in log


def metrics_of(served: ServeProcess) -> dict[str, list[tuple[dict[str, str], float]]]:
    response = httpx.get(f"{served.urls['metrics']}/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def value(samples: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    return sum(v for found, v in samples.get(name, []) if labels.items() <= found.items())


def test_metrics_count_requests_and_latency_per_listener_and_route(served: ServeProcess) -> None:
    before = metrics_of(served)
    for _ in range(3):
        httpx.get(f"{served.urls['public']}/health/ready")
    httpx.get(f"{served.urls['api']}/random-path-8f3a")
    after = metrics_of(served)

    ready = {"listener": "public", "route": "/health/ready"}
    assert value(after, "gatekeeper_http_requests_total", **ready, method="GET", status="200") - value(
        before, "gatekeeper_http_requests_total", **ready, method="GET", status="200") == 3
    assert value(after, "gatekeeper_http_request_duration_seconds_count", **ready) - value(
        before, "gatekeeper_http_request_duration_seconds_count", **ready) == 3
    buckets = [labels["le"] for labels, _ in after["gatekeeper_http_request_duration_seconds_bucket"]
               if labels["listener"] == "public" and labels["route"] == "/health/ready"]
    assert "+Inf" in buckets and len(buckets) > 5
    # unknown paths share one label, so a scan cannot blow up the series count
    assert value(after, "gatekeeper_http_requests_total", listener="api", route="<unmatched>", status="404") >= 1
    assert "random-path-8f3a" not in httpx.get(f"{served.urls['metrics']}/metrics").text


def test_metrics_expose_store_latency_readiness_build_info_and_the_process(served: ServeProcess) -> None:
    httpx.get(f"{served.urls['admin']}/health/ready")  # runs store queries
    samples = metrics_of(served)
    assert value(samples, "gatekeeper_store_query_duration_seconds_count", operation="select") > 0
    assert value(samples, "gatekeeper_ready") == 1
    ((labels, build),) = samples["gatekeeper_build_info"]
    assert build == 1 and labels["version"] == __version__ and labels["python"]
    # the process and runtime series Kratos' and Oathkeeper's /metrics carry too
    assert value(samples, "process_resident_memory_bytes") > 10_000_000
    assert value(samples, "process_open_fds") > 0
    assert {"python_gc_objects_collected_total", "python_info"} <= samples.keys()


def test_text_log_format_writes_readable_request_lines(tmp_path: Path) -> None:
    config = write_config(tmp_path / "gk.yaml", "memory")
    config.write_text(config.read_text().replace("format: json", "format: text"))
    with serve_process(gatekeeper_command("serve", "--config", str(config), "--migrate"), tmp_path / "log") as running:
        httpx.get(f"{running.urls['admin']}/health/alive", headers={"X-Request-Id": "text-1"})
        wait_until(lambda: "request_id=text-1" in running.log())
        assert running.terminate() == 0
    (line,) = [line for line in running.log().splitlines() if "request_id=text-1" in line]
    assert "INFO" in line and "listener=admin" in line and "method=GET" in line and "status=200" in line
    assert not line.startswith("{")


async def test_failed_store_statements_are_counted_by_kind(store: Store) -> None:
    metrics = Metrics()
    store.db.on_query = metrics.observe_query
    now = datetime.now(UTC)
    insert = "INSERT INTO throttle_counters (key, window_start, hits) VALUES ($1, $2, 1)"
    await store.db.execute(insert, "k", now)
    with pytest.raises(UniqueViolation):
        await store.db.execute(insert, "k", now)
    with pytest.raises(StoreError):
        await store.db.fetch_all("SELECT nothing FROM nowhere")
    registry = metrics.registry
    assert registry.get_sample_value("gatekeeper_store_errors_total", {"reason": "unique_violation"}) == 1
    assert registry.get_sample_value("gatekeeper_store_errors_total", {"reason": "error"}) == 1
    assert registry.get_sample_value("gatekeeper_store_query_duration_seconds_count", {"operation": "insert"}) == 2


async def test_requests_under_a_mounted_prefix_keep_their_route_label(gatekeeper: Instance) -> None:
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"{gatekeeper.proxy}/.auth/schemas/default")).status_code == 200
        assert (await client.get(f"{gatekeeper.proxy}/.auth/nothing-here")).status_code == 404
        metrics = (await client.get(f"{gatekeeper.metrics}/metrics")).text
    assert 'gatekeeper_http_requests_total{listener="proxy",method="GET",route="/.auth/schemas/{id}",status="200"} ' \
           '1.0' in metrics
    assert 'gatekeeper_http_requests_total{listener="proxy",method="GET",route="<unmatched>",status="404"} 1.0' \
           in metrics


async def test_an_unexpected_error_is_a_500_envelope_logged_once_with_the_request_id(
        caplog: pytest.LogCaptureFixture) -> None:
    async def boom(request: Request) -> PlainTextResponse:
        raise RuntimeError("internal detail /etc/secret-path")

    admin = Starlette(routes=[Route("/boom", boom)], exception_handlers=EXCEPTION_HANDLERS)
    server_log = logging.getLogger("uvicorn.error")  # where uvicorn reports exceptions that reach it
    try:
        with caplog.at_level(logging.INFO):
            listener = RequestObserver(admin, listener="admin", metrics=Metrics())
            async with serving(listener) as url, httpx.AsyncClient() as client:
                server_log.addHandler(caplog.handler)  # after uvicorn configured its loggers
                response = await client.get(f"{url}/boom", headers={"X-Request-Id": "boom-1"})
    finally:
        server_log.removeHandler(caplog.handler)
    assert response.status_code == 500
    assert response.json() == {"error": {"code": 500, "status": "Internal Server Error", "message": (
        "An internal server error occurred, please contact the system administrator")}}
    assert "secret-path" not in response.text
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].getMessage() == "unhandled error"
    assert errors[0].request_id == "boom-1" and errors[0].exc_info is not None  # type: ignore[attr-defined]
    (line,) = [r for r in caplog.records if r.name == "gatekeeper.access_log"]
    assert line.status == 500  # type: ignore[attr-defined]


def test_json_log_times_are_utc_whatever_the_host_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        record = logging.makeLogRecord({"msg": "hello", "levelname": "INFO", "name": "t"})
        entry = json.loads(JsonFormatter().format(record))
    finally:
        monkeypatch.undo()
        time.tzset()
    stamp = datetime.strptime(entry["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert abs((stamp - datetime.fromtimestamp(record.created, UTC)).total_seconds()) < 1


def test_credentials_refused_by_the_proxy_never_reach_the_log(tmp_path: Path) -> None:
    """Denied requests log their decision and reason, never the cookie or token that was refused."""
    jwks = tmp_path / "jwks.json"
    jwks.write_text('{"keys": []}')
    (tmp_path / "rules.yaml").write_text(textwrap.dedent("""\
        - id: private
          match: {url: "http://127.0.0.1:<[0-9]+>/private<.*>", methods: [GET]}
          upstream: {url: "http://127.0.0.1:9"}
          authenticators: [{handler: jwt}, {handler: cookie_session}, {handler: bearer_token}]
          authorizer: {handler: allow}
          mutators: [{handler: noop}]
        """))
    config = write_config(tmp_path / "gk.yaml", "memory")
    config.write_text(config.read_text() + textwrap.dedent(f"""\
        access_rules: {{repositories: ["file://{tmp_path}/rules.yaml"]}}
        authenticators:
          jwt: {{enabled: true, config: {{jwks_urls: ["file://{jwks}"]}}}}
          cookie_session: {{enabled: true}}
          bearer_token: {{enabled: true}}
        authorizers: {{allow: {{enabled: true}}}}
        mutators: {{noop: {{enabled: true}}}}
        """))
    jwt_like = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJTRUNSRVRTVUIifQ.c2lnbmF0dXJlLXNlY3JldA"
    with serve_process(gatekeeper_command("serve", "--config", str(config), "--migrate"), tmp_path / "log") as running:
        wait_until(lambda: httpx.get(f"{running.urls['proxy']}/health/ready").status_code == 200)
        for headers in ({"Authorization": f"Bearer {jwt_like}"}, {"Authorization": f"Bearer {TOKEN}"},
                        {"Cookie": f"ory_kratos_session={COOKIE_VALUE}"}, {"X-Session-Token": TOKEN}):
            response = httpx.get(f"{running.urls['proxy']}/private/page", headers={**headers, "X-Request-Id": "deny"})
            assert response.status_code == 401
            assert COOKIE_VALUE not in response.text and TOKEN not in response.text
        wait_until(lambda: len([e for e in request_lines(running) if e["request_id"] == "deny"]) == 4)
        assert running.terminate() == 0
    log = running.log()
    for value in (COOKIE_VALUE, TOKEN, jwt_like, jwt_like.split(".")[1], jwt_like.split(".")[2]):
        assert value not in log
    assert all(e.get("decision") for e in request_lines(running) if e["request_id"] == "deny")

