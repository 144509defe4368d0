"""Kratos' `database` section: how the clean-up of stale rows runs (`database.cleanup`).

Key names and defaults are Kratos' (`batch_size` 100, `sleep.tables` 1m, `older_than` 0s). gatekeeper adds
`interval` (Kratos only cleans up when `kratos cleanup sql` runs; we also run it in the background) and
`keep_courier_messages` (Kratos never deletes sent mail; we do, after this long).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from gatekeeper.config.types import Duration


@dataclass(frozen=True)
class CleanupSleep:
    """`database.cleanup.sleep`: the pause between two tables, so the database gets breathing room."""

    tables: Duration = Duration(60.0)


@dataclass(frozen=True)
class DatabaseCleanup:
    """`database.cleanup`: rows deleted per statement, the pause between tables, and the extra age kept."""

    batch_size: int = 100
    sleep: CleanupSleep = field(default_factory=CleanupSleep)
    older_than: Duration = Duration(0.0)
    interval: Duration = Duration(600.0)  # 0 turns the background clean-up off (run `gatekeeper cleanup`)
    keep_courier_messages: Duration = Duration(7 * 24 * 3600.0)


@dataclass(frozen=True)
class Database:
    cleanup: DatabaseCleanup = field(default_factory=DatabaseCleanup)


def check_database(database: Database, add: Callable[[str, str], None]) -> None:
    """Report every problem of the section through `add(path, message)` (None: already reported)."""
    cleanup = database.cleanup
    if cleanup.batch_size is not None and cleanup.batch_size < 1:
        add("database.cleanup.batch_size", f"must be at least 1, got {cleanup.batch_size}")
    for key, value in (("sleep.tables", cleanup.sleep.tables), ("older_than", cleanup.older_than),
                       ("interval", cleanup.interval), ("keep_courier_messages", cleanup.keep_courier_messages)):
        if value is not None and value < 0:
            add(f"database.cleanup.{key}", "must not be negative")
