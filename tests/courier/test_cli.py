"""`gatekeeper courier watch` as a dedicated deployment runs it: a separate process on the same database."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import yaml

from gatekeeper.config import Config
from gatekeeper.identity.courier import Courier
from gatekeeper.store import Store
from tests.courier.conftest import settled
from tests.support.smtp import FAST_WORKER, SmtpSink


def write_config(path: Path, dsn: str, uri: str) -> Path:
    path.write_text(yaml.safe_dump({
        "dsn": dsn, "log": {"level": "info", "format": "json"},
        "courier": {"smtp": {"connection_uri": uri}, "worker": FAST_WORKER},
    }))
    return path


async def watch(config: Path, *options: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gatekeeper.cli", "courier", "watch", "--config", str(config), *options,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def test_courier_watch_delivers_the_queue_and_stops_on_sigterm(
        store: Store, dsn: str, sink: SmtpSink, tmp_path: Path, courier_config: Callable[..., Config]) -> None:
    uri = sink.uri(query="disable_starttls=true")
    queued = await Courier(courier_config(None), store).enqueue_email(  # queued by a replica with no SMTP
        "ada@example.com", "verification_code_valid", {"verification_code": "135790"})
    process = await watch(write_config(tmp_path / "courier.yaml", dsn, uri), "--expose-metrics-port", "0")
    lines: list[dict] = []
    reader = asyncio.create_task(read_json_lines(process, lines))
    try:
        port = await until_logged(process, lines, "courier metrics and health listening")
        (mail,) = await sink.wait_for(1, timeout=30)
        await settled(store, queued.id, "sent")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port['port']}") as client:
            ready = (await client.get("/health/ready")).json()
            metrics = (await client.get("/metrics")).text
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 30)
        await reader
    assert process.returncode == 0, lines
    assert "135790" in mail.part("text/plain")
    assert any(line.get("msg") == "courier message sent" for line in lines)
    assert ready == {"status": "ok"}
    assert 'gatekeeper_courier_messages_total{event="sent",template_type="verification_code_valid"} 1.0' in metrics


async def read_json_lines(process: asyncio.subprocess.Process, into: list[dict]) -> None:
    assert process.stderr is not None
    async for raw in process.stderr:
        try:
            into.append(json.loads(raw))
        except ValueError:
            into.append({"msg": raw.decode(errors="replace").rstrip()})


async def until_logged(process: asyncio.subprocess.Process, lines: list[dict], message: str) -> dict:
    """The first log line with `message`; fails at once (with the log) if the process exits before."""
    async def seen() -> dict:
        while True:
            for line in lines:
                if line.get("msg") == message:
                    return line
            assert process.returncode is None, f"courier watch exited early: {lines}"
            await asyncio.sleep(0.02)

    return await asyncio.wait_for(seen(), 30)


async def test_courier_watch_refuses_an_unmigrated_database(tmp_path: Path, sink: SmtpSink) -> None:
    config = write_config(tmp_path / "courier.yaml", f"sqlite://{tmp_path}/empty.db", sink.uri())
    process = await watch(config)
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 1
    assert b"pending migrations" in stderr and b"gatekeeper migrate up" in stderr
