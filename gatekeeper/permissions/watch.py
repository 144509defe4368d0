"""Keeps the namespaces current: an OPL file or Keto's namespace files (a directory of them or one) are polled
and re-read when they change (inode, mtime or size of each file; files added or removed); a broken version is
logged with file (and line:column) and the last good namespaces stay in use."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Hashable

from gatekeeper.permissions.metrics import PermissionMetrics
from gatekeeper.permissions.namespaces import NamespaceFileError, NamespaceSet, namespace_files, read_opl_file

log = logging.getLogger("gatekeeper.permissions")


def _file_signature(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)  # follows symlinks: a swapped ConfigMap ..data target changes inode and mtime
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _signature(path: str) -> Hashable:
    """What changes when the file, or a file of the directory, changes, appears or goes."""
    return tuple((str(file), _file_signature(str(file))) for file in namespace_files(path))


class NamespaceWatcher:
    """The current namespaces (`current()`), and for namespace files a poller (a service: start/stop) that reads
    `path` with `read`."""

    def __init__(self, initial: NamespaceSet, path: str | None, interval: float = 1.0,
                 metrics: PermissionMetrics | None = None,
                 read: Callable[[str], NamespaceSet] = read_opl_file) -> None:
        self._current, self._path, self._interval, self._metrics, self._read = initial, path, interval, metrics, read
        self._seen = _signature(path) if path else None
        self._task: asyncio.Task[None] | None = None

    def current(self) -> NamespaceSet:
        return self._current

    async def start(self) -> None:
        if self._path is not None:
            self._task = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def reload(self) -> bool:
        """Re-read the file if it changed; True when new namespaces are in use."""
        if self._path is None:
            return False
        signature = _signature(self._path)
        if signature == self._seen:
            return False
        self._seen = signature
        try:
            self._current = self._read(self._path)
        except NamespaceFileError as exc:
            for where, message in exc.problems:
                log.error("namespaces not reloaded: %s: %s", where, message)
            self._count("error")
            return False
        self._count("success")
        log.info("namespaces reloaded", extra={"namespaces": ",".join(self._current.names())})
        return True

    def _count(self, result: str) -> None:
        if self._metrics is not None:
            self._metrics.reloads.labels(result).inc()

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                self.reload()
            except Exception as exc:  # noqa: BLE001 - the watcher must survive anything
                log.error("namespace watcher failed", exc_info=exc)
