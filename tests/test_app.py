"""`gatekeeper serve` as a real process: listeners, health, readiness while the database is away, refusing pending
migrations, SIGTERM drain, and the 404 envelope on every listener."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from gatekeeper import __version__
from gatekeeper.config import Config
from gatekeeper.server.run import bind
from tests.support.databases import create_postgres_database, drop_postgres_database
from tests.support.process import (
    LISTENER_NAMES,
    ServeProcess,
    gatekeeper_command,
    ready_gatekeeper,
    serve_process,
    wait_until,
    write_config,
)
from tests.support.servers import running_gatekeeper, serving


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def log_entries(running: ServeProcess) -> list[dict[str, object]]:
    return running.log_entries()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    """One `gatekeeper serve --migrate` on a fresh SQLite file, shared by the read-only tests below."""
    with ready_gatekeeper(tmp_path_factory.mktemp("served")) as running:
        yield running


def test_every_listener_answers_health_in_kratos_shapes(served: ServeProcess) -> None:
    assert set(served.urls) == set(LISTENER_NAMES)
    for url in served.urls.values():
        alive = httpx.get(f"{url}/health/alive")
        ready = httpx.get(f"{url}/health/ready")
        assert (alive.status_code, alive.json()) == (200, {"status": "ok"})
        assert (ready.status_code, ready.json()) == (200, {"status": "ok"})
        assert alive.headers["content-type"] == "application/json"
        assert httpx.head(f"{url}/health/ready").status_code == 200


@pytest.mark.parametrize("listener", ["public", "admin", "api", "metrics"])
def test_version_is_served_as_in_kratos(served: ServeProcess, listener: str) -> None:
    response = httpx.get(f"{served.urls[listener]}/version")
    assert (response.status_code, response.json()) == (200, {"version": __version__})


@pytest.mark.parametrize("listener", LISTENER_NAMES)
def test_unknown_routes_get_the_kratos_404_envelope(served: ServeProcess, listener: str) -> None:
    response = httpx.get(f"{served.urls[listener]}/no/such/route")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert (error["code"], error["status"]) == (404, "Not Found")
    assert isinstance(error["message"], str) and error["message"]


def test_a_wrong_method_on_a_known_route_is_a_405_envelope(served: ServeProcess) -> None:
    response = httpx.post(f"{served.urls['admin']}/health/alive")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == 405


def test_the_listening_announcement_names_the_proxy_and_sign_in_urls(served: ServeProcess) -> None:
    proxy = served.urls["proxy"]
    line = next((line for line in served.stdout if line.startswith("  open ")), None)
    assert (line or served.wait_for_line("^  open ")) == f"  open {proxy}/ (app) and {proxy}/.auth/ui/login (sign in)"


def test_env_overrides_choose_the_ports_and_gatekeeper_config_the_file(tmp_path: Path) -> None:
    config = write_config(tmp_path / "gk.yaml", "memory")
    ports = {name: free_port() for name in LISTENER_NAMES}
    env = {f"SERVE_{name.upper()}_PORT": str(port) for name, port in ports.items()} | {"GATEKEEPER_CONFIG": str(config)}
    with serve_process(gatekeeper_command("serve", "--migrate"), tmp_path / "log", env=env) as running:
        assert running.urls == {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        assert httpx.get(f"{running.urls['admin']}/health/alive").status_code == 200
        assert running.terminate() == 0


def test_dev_generates_missing_secrets_and_logs_it_in_the_configured_format(tmp_path: Path) -> None:
    config = write_config(tmp_path / "gk.yaml", "memory")
    config.write_text("\n".join(line for line in config.read_text().splitlines() if "secrets" not in line
                                and "cookie" not in line))
    with serve_process(gatekeeper_command("serve", "--config", str(config), "--migrate", "--dev"),
                       tmp_path / "log") as running:
        assert httpx.get(f"{running.urls['public']}/health/alive").status_code == 200
        assert running.terminate() == 0
    (generated,) = [e for e in log_entries(running) if e["logger"] == "gatekeeper.config"]
    assert generated["level"] == "warning" and "generated" in str(generated["msg"])
    assert set(generated) == {"time", "level", "logger", "msg"}  # says so, without the value


def test_without_dev_missing_secrets_stop_start_up(tmp_path: Path) -> None:
    config = write_config(tmp_path / "gk.yaml", "memory")
    config.write_text(config.read_text().replace("secrets:\n", "secretz:\n"))
    with serve_process(gatekeeper_command("serve", "--config", str(config)), tmp_path / "log",
                       wait_listening=False) as running:
        assert running.proc.wait(30) == 2
    log = running.log()
    assert "secrets.cookie: is required outside --dev" in log and "secretz: unknown key" in log
    assert "Traceback" not in log


def test_a_port_in_use_stops_start_up_with_a_clear_message(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        config = write_config(tmp_path / "gk.yaml", "memory", ports={"admin": port})
        with serve_process(gatekeeper_command("serve", "--config", str(config), "--migrate"), tmp_path / "log",
                           wait_listening=False) as running:
            assert running.proc.wait(30) == 1
    (failure,) = [e for e in log_entries(running) if e["level"] == "error"]
    assert str(failure["reason"]).startswith(f"cannot listen on 127.0.0.1:{port} (serve.admin): Address already in use")
    assert "Traceback" not in running.log()


def test_serve_retries_until_an_unusable_sqlite_path_becomes_usable(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where the database directory should be")
    config = write_config(tmp_path / "gk.yaml", f"sqlite://{blocker}/gk.db")
    with serve_process(gatekeeper_command("serve", "--config", str(config), "--migrate"), tmp_path / "log") as running:
        ready = httpx.get(f"{running.urls['admin']}/health/ready")
        assert ready.status_code == 503
        assert ready.json() == {"errors": {"database": "the database has not been reached yet"}}
        wait_until(lambda: "database unreachable, retrying" in running.log())
        blocker.unlink()  # the operator fixes the volume: gatekeeper connects on its next attempt
        wait_until(lambda: httpx.get(f"{running.urls['admin']}/health/ready").status_code == 200)
        assert (blocker / "gk.db").exists()
        assert running.terminate() == 0


def test_sigterm_while_still_retrying_the_database_exits_0(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("")
    config = write_config(tmp_path / "gk.yaml", f"sqlite://{tmp_path}/data/gk.db")
    with serve_process(gatekeeper_command("serve", "--config", str(config), "--migrate"), tmp_path / "log") as running:
        wait_until(lambda: "database unreachable, retrying" in running.log())
        assert running.terminate() == 0


@pytest.mark.parametrize("dialect", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_serve_refuses_a_database_with_pending_migrations(tmp_path: Path, dialect: str,
                                                          request: pytest.FixtureRequest) -> None:
    if dialect == "sqlite":
        dsn, drop = f"sqlite://{tmp_path}/gk.db", None
    else:
        request.getfixturevalue("postgres_dsn")
        dsn, why = create_postgres_database()
        assert dsn is not None, why
        drop = dsn
    try:
        config = write_config(tmp_path / "gk.yaml", dsn)
        with serve_process(gatekeeper_command("serve", "--config", str(config)), tmp_path / "log",
                           wait_listening=False) as running:
            assert running.proc.wait(30) == 1
            failure = [e for e in log_entries(running) if e["level"] == "error"]
        assert len(failure) == 1 and failure[0]["msg"] == "cannot start"
        assert "pending migrations (0001_init" in str(failure[0]["reason"])
        assert "--migrate" in str(failure[0]["reason"])
        assert "Traceback" not in running.log()
    finally:
        if drop:
            drop_postgres_database(drop)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_exits_0_after_saying_it_drains(tmp_path: Path, sig: signal.Signals) -> None:
    config = write_config(tmp_path / "gk.yaml", "memory")
    with serve_process(gatekeeper_command("serve", "--config", str(config), "--migrate"), tmp_path / "log") as running:
        running.proc.send_signal(sig)
        assert running.proc.wait(20) == 0
        messages = [e["msg"] for e in log_entries(running)]
    assert "shutting down: draining in-flight requests" in messages
    assert "Traceback" not in running.log(), running.log()[-3000:]


# --- drain: a process running gatekeeper.server.run.serve with one slow route on the admin listener ---------------

SLOW_SERVER = textwrap.dedent("""
    import asyncio, sys
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Mount, Route
    from gatekeeper.cli.runtime import optional_parts
    from gatekeeper.config import load_config
    from gatekeeper.observe import configure_logging
    from gatekeeper.server.container import build
    from gatekeeper.server.listeners import build_listeners
    from gatekeeper.server.run import serve

    async def main():
        config = load_config(sys.argv[1])
        configure_logging(config.log)
        container = await build(config, optional_parts(config))

        async def slow(request):
            print("slow request started", flush=True)
            await asyncio.sleep(float(request.query_params["seconds"]))
            return PlainTextResponse("finished")

        listeners = build_listeners(container)
        listeners.asgi["admin"] = Starlette(routes=[Route("/slow", slow), Mount("/", listeners.asgi["admin"])])

        def announce(urls):
            print("gatekeeper is listening:\\n" + "\\n".join(f"  {n} {u}" for n, u in urls.items()), flush=True)

        return await serve(container, listeners, apply_migrations=True, on_ready=announce)

    sys.exit(asyncio.run(main()))
""")


async def test_sigterm_drains_an_in_flight_request_and_refuses_new_connections(tmp_path: Path) -> None:
    config = write_config(tmp_path / "gk.yaml", "memory", shutdown_timeout="10s")
    with serve_process([sys.executable, "-c", SLOW_SERVER, str(config)], tmp_path / "log") as running:
        admin = running.urls["admin"]
        async with httpx.AsyncClient(timeout=30) as client:
            in_flight = asyncio.create_task(client.get(f"{admin}/slow", params={"seconds": "3"}))
            await asyncio.to_thread(running.wait_for_line, "slow request started")
            running.proc.send_signal(signal.SIGTERM)
            await asyncio.to_thread(_wait_refused, admin)  # stopped accepting while the request still runs
            assert not in_flight.done()
            response = await in_flight
        assert (response.status_code, response.text) == (200, "finished")
        assert await asyncio.to_thread(running.proc.wait, 20) == 0


async def test_drain_gives_up_after_the_shutdown_timeout_and_still_exits_0(tmp_path: Path) -> None:
    config = write_config(tmp_path / "gk.yaml", "memory", shutdown_timeout="500ms")
    with serve_process([sys.executable, "-c", SLOW_SERVER, str(config)], tmp_path / "log") as running:
        async with httpx.AsyncClient(timeout=30) as client:
            stuck = asyncio.create_task(client.get(f"{running.urls['admin']}/slow", params={"seconds": "60"}))
            await asyncio.to_thread(running.wait_for_line, "slow request started")
            signalled = time.monotonic()
            running.proc.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(running.proc.wait, 20) == 0
            took = time.monotonic() - signalled
            try:
                answer: httpx.Response | None = await stuck
            except httpx.HTTPError:
                answer = None  # the connection was cut: as good as a 500 for this test
    # it waited for the request (500 ms) and then gave up on it, long before the request's 60 s
    assert 0.45 <= took < 10, took
    assert answer is None or (answer.status_code == 500 and answer.text != "finished"), answer


async def test_sigterm_drains_a_request_in_flight_through_the_proxy(tmp_path: Path) -> None:
    """The real CLI in front of a slow upstream: the proxied request started before SIGTERM completes."""
    started = asyncio.Event()

    async def slow_upstream(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        started.set()
        await asyncio.sleep(1.5)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"slow upstream finished"})

    async with serving(slow_upstream) as upstream:
        (tmp_path / "rules.yaml").write_text(
            "- id: slow\n  match:\n    url: http://127.0.0.1:<[0-9]+>/slow<.*>\n    methods: [GET]\n"
            f"  upstream:\n    url: {upstream}\n  authenticators: [{{handler: anonymous}}]\n"
            "  authorizer: {handler: allow}\n  mutators: [{handler: noop}]\n")
        config = write_config(tmp_path / "gk.yaml", "memory")
        config.write_text(config.read_text() + f"access_rules:\n  repositories: [file://{tmp_path}/rules.yaml]\n"
                          "authenticators: {anonymous: {enabled: true}}\nauthorizers: {allow: {enabled: true}}\n"
                          "mutators: {noop: {enabled: true}}\n")
        with serve_process(gatekeeper_command("serve", "--config", str(config), "--migrate"),
                           tmp_path / "log") as running:
            proxy = running.urls["proxy"]
            async with httpx.AsyncClient(timeout=30) as client:
                await _wait_ready(client, proxy, 200)
                in_flight = asyncio.create_task(client.get(f"{proxy}/slow/report"))
                await asyncio.wait_for(started.wait(), 10)
                running.proc.send_signal(signal.SIGTERM)
                await asyncio.to_thread(_wait_refused, proxy)
                response = await in_flight
            assert (response.status_code, response.text) == (200, "slow upstream finished")
            assert await asyncio.to_thread(running.proc.wait, 20) == 0


def _wait_refused(url: str) -> None:
    host, port = url.removeprefix("http://").split(":")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
        except ConnectionRefusedError:
            return
        time.sleep(0.02)
    raise AssertionError("the listener still accepts connections after SIGTERM")


# --- readiness while PostgreSQL is unreachable, through a TCP proxy the test controls -----------------------


class TcpProxy:
    """Forwards 127.0.0.1:<port> to PostgreSQL while `up`; `down()` closes the port and every connection."""

    def __init__(self, port: int, target: tuple[str, int]) -> None:
        self.port, self.target = port, target
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def up(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def down(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()


@pytest.fixture
async def unreachable_postgres(postgres_dsn: str) -> AsyncIterator[tuple[TcpProxy, str]]:
    """A fresh database reachable only through a proxy that starts down; yields the proxy and the DSN through it."""
    dsn, why = create_postgres_database()
    assert dsn is not None, why
    host_port, _, database = dsn.removeprefix("postgres://").partition("/")
    user, _, host = host_port.partition("@")
    target_host, _, target_port = host.partition(":")
    proxy = TcpProxy(free_port(), (target_host, int(target_port or 5432)))
    # trust auth ignores the password: it is here to prove it never reaches a log line
    yield proxy, f"postgres://{user}:hunter2@127.0.0.1:{proxy.port}/{database}"
    await proxy.down()
    drop_postgres_database(dsn)


@pytest.mark.postgres
async def test_ready_is_503_while_the_database_is_unreachable_and_recovers(
        tmp_path: Path, unreachable_postgres: tuple[TcpProxy, str]) -> None:
    proxy, dsn = unreachable_postgres
    config = write_config(tmp_path / "gk.yaml", dsn)
    with serve_process(gatekeeper_command("serve", "--config", str(config), "--migrate"), tmp_path / "log") as running:
        async with httpx.AsyncClient(timeout=10) as client:
            for url in running.urls.values():
                ready = await client.get(f"{url}/health/ready")
                assert (ready.status_code, ready.json()) == (
                    503, {"errors": {"database": "the database has not been reached yet"}})
                assert (await client.get(f"{url}/health/alive")).json() == {"status": "ok"}

            retries = await _wait_for_log(running, "database unreachable, retrying", count=2)
            assert [r["retry_in_s"] for r in retries[:2]] == [0.5, 1.0]  # backing off
            assert retries[0]["dsn"] == dsn.replace("hunter2", "***")
            assert "ConnectionRefusedError" in str(retries[0]["reason"])

            await proxy.up()  # the database comes back: gatekeeper connects, migrates and turns ready
            await _wait_ready(client, running.urls["public"], 200)
            assert any(e["msg"] == "applied migration" for e in log_entries(running))

            await proxy.down()  # lost again: not ready, with the reason
            body = await _wait_ready(client, running.urls["admin"], 503)
            assert body == {"errors": {"database": "the database does not answer"}}
            metrics = (await client.get(f"{running.urls['metrics']}/metrics")).text
            assert 'gatekeeper_store_errors_total{reason="unavailable"}' in metrics
            assert "gatekeeper_ready 0.0" in metrics

            await proxy.up()  # and back: ready without a restart
            await _wait_ready(client, running.urls["api"], 200)
        assert await asyncio.to_thread(running.terminate) == 0
    assert "hunter2" not in running.log() + "\n".join(running.stdout)


async def _wait_for_log(running: ServeProcess, msg: str, count: int) -> list[dict[str, object]]:
    for _ in range(400):
        found = [e for e in log_entries(running) if e["msg"] == msg]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"fewer than {count} log lines {msg!r}: {running.log()[-2000:]}")


async def _wait_ready(client: httpx.AsyncClient, url: str, status: int) -> object:
    for _ in range(400):
        response = await client.get(f"{url}/health/ready")
        if response.status_code == status:
            return response.json()
        await asyncio.sleep(0.05)
    raise AssertionError(f"/health/ready never answered {status}")


async def test_a_hanging_readiness_check_answers_503_in_bounded_time(
        make_config: Callable[..., Config]) -> None:
    async with running_gatekeeper(make_config()) as instance:
        instance.container.readiness.timeout = 0.2
        async def hangs() -> str | None:
            await asyncio.sleep(60)
            return None

        instance.container.readiness.checks["remote"] = hangs
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(f"{instance.admin}/health/ready")
            alive = await client.get(f"{instance.admin}/health/alive")
    assert (response.status_code, response.json()) == (503, {"errors": {"remote": "did not answer within 0.2s"}})
    assert alive.json() == {"status": "ok"}



async def _idle_connection_survives(url: str, idle: float) -> bool:
    """Send one request on a raw keep-alive connection, stay idle, then ask again on the same connection."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    request = b"GET /health/alive HTTP/1.1\r\nHost: gatekeeper\r\n\r\n"
    try:
        writer.write(request)
        assert b" 200 " in await reader.readuntil(b"\r\n\r\n")
        await reader.readexactly(len(b'{"status":"ok"}'))
        await asyncio.sleep(idle)
        writer.write(request)
        return (await reader.read(1024)).startswith(b"HTTP/1.1 200")
    except ConnectionError:
        return False
    finally:
        writer.close()


async def test_idle_keep_alive_connections_are_closed_after_the_configured_timeout(
        make_config: Callable[..., Config]) -> None:
    """`serve.keep_alive_timeout` for the Kratos listeners and metrics, Oathkeeper's `timeout.idle` for its two."""
    config = make_config({"serve": {"keep_alive_timeout": "1s", "proxy": {"timeout": {"idle": "1s"}},
                                    "api": {"timeout": {"idle": "1s"}}}})
    async with running_gatekeeper(config) as instance:
        for url in instance.urls.values():
            assert await _idle_connection_survives(url, 0.2)
            assert not await _idle_connection_survives(url, 1.6)


@pytest.mark.slow
async def test_idle_keep_alive_connections_outlive_a_load_balancers_60s_idle_by_default(
        make_config: Callable[..., Config]) -> None:
    assert make_config().serve.keep_alive_timeout == 75 and make_config().serve.proxy.timeout.idle == 120
    async with running_gatekeeper(make_config()) as instance:
        assert await _idle_connection_survives(instance.proxy, 6)  # uvicorn's own default closes after 5 s


def test_listener_connections_send_without_nagle_delay() -> None:
    """Every connection a listener accepts has TCP_NODELAY: on a loop that does not set it itself (asyncio with
    `create_server` sockets), a response sent in two writes waited ~40 ms for the client's delayed ACK."""
    listener = bind("127.0.0.1", 0)
    with listener, socket.create_connection(listener.getsockname()) as _client:
        accepted, _ = listener.accept()
        with accepted:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
