"""`gatekeeper cleanup` as an operator runs it (a CronJob): a real process on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import yaml

from gatekeeper.store import Store
from tests.store.test_cleanup import add_counter, add_identity, add_session, ago, ids

ROOT = Path(__file__).parent.parent


async def gatekeeper(*args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DSN", "DATABASE_", "LOG_"))}
    return await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "gatekeeper.cli", *args],
                                   capture_output=True, text=True, timeout=60, env=clean, cwd=ROOT)


def config_file(tmp_path: Path, dsn: str, cleanup: dict[str, object] | None = None) -> str:
    path = tmp_path / "gatekeeper.yaml"
    settings = {"sleep": {"tables": "0s"}, **(cleanup or {})}
    path.write_text(yaml.safe_dump({"dsn": dsn, "log": {"level": "warning"}, "database": {"cleanup": settings}}))
    return str(path)


async def test_cleanup_deletes_stale_rows_and_says_how_many(dsn: str, store: Store, tmp_path: Path) -> None:
    ident = await add_identity(store)
    await add_session(store, ident, expires=ago(hours=1))
    live = await add_session(store, ident, expires=ago(hours=-1))
    await add_counter(store, "login:old", ago(days=2))
    result = await gatekeeper("cleanup", "--config", config_file(tmp_path, dsn))
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()}
    assert lines["sessions"] == "1" and lines["throttle_counters"] == "1" and lines["courier_messages"] == "0"
    assert await ids(store, "sessions") == {live}
    assert await ids(store, "throttle_counters", "key") == set()


async def test_older_than_flag_keeps_recent_rows(dsn: str, store: Store, tmp_path: Path) -> None:
    ident = await add_identity(store)
    session = await add_session(store, ident, expires=ago(hours=1))
    config = config_file(tmp_path, dsn, {"batch_size": 1})
    kept = await gatekeeper("cleanup", "--config", config, "--older-than", "24h")
    assert kept.returncode == 0, kept.stderr
    assert await ids(store, "sessions") == {session}
    gone = await gatekeeper("cleanup", "--config", config, "--older-than", "30m")
    assert gone.returncode == 0 and "sessions           1 deleted" in gone.stdout
    assert await ids(store, "sessions") == set()


async def test_a_database_without_migrations_is_refused(tmp_path: Path) -> None:
    result = await gatekeeper("cleanup", "--config", config_file(tmp_path, f"sqlite://{tmp_path}/empty.db"))
    assert result.returncode == 1
    assert "gatekeeper migrate up" in result.stderr and "Traceback" not in result.stderr


async def test_an_unreachable_database_exits_1_without_a_password(tmp_path: Path) -> None:
    dsn = "postgres://gk:hunter2-secret@127.0.0.1:1/gk?sslmode=disable"
    result = await gatekeeper("cleanup", "--config", config_file(tmp_path, dsn))
    assert result.returncode == 1 and "cannot reach the database" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout and "Traceback" not in result.stderr


async def test_bad_settings_are_refused_with_file_line_and_key(tmp_path: Path) -> None:
    config = config_file(tmp_path, f"sqlite://{tmp_path}/gk.db", {"batch_size": 0})
    result = await gatekeeper("cleanup", "--config", config)
    assert result.returncode == 2
    assert "gatekeeper.yaml:" in result.stderr and "database.cleanup.batch_size: must be at least 1" in result.stderr
    bad_flag = await gatekeeper("cleanup", "--config", config, "--older-than", "yesterday")
    assert bad_flag.returncode == 2 and "expected a duration" in bad_flag.stderr
