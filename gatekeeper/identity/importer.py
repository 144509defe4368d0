"""Bulk identity import (Kratos' createIdentityBody shape) from a JSON array or JSON lines.

`read_items` yields (line number, body or parse error) without loading a JSON-lines file whole; `Importer`
sends them to a target (the store through AdminService, or a running admin API in batches), counts
imported / skipped (the identifier already exists: re-running an import skips what it already did) /
failed, draws a plain progress bar on stderr and reports every failure with its line number.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO

from gatekeeper.errors import Conflict, GatekeeperError, envelope_reason

BATCH = 200


@dataclass
class ParseError:
    message: str


@dataclass
class Outcome:
    """Per item: "imported", "skipped" or "failed" (with the reason)."""

    status: str
    reason: str = ""


class Target(Protocol):
    async def create(self, bodies: list[dict[str, Any]]) -> list[Outcome]: ...


def _layout(path: Path) -> str:
    """"array", "object" (one JSON object over several lines, as Kratos' import files often are) or "lines"."""
    with path.open(encoding="utf-8") as f:
        head = f.read(4096).lstrip()
        if head.startswith("["):
            return "array"
        f.seek(0)
        first = next((line for line in f if line.strip()), "")
    if head.startswith("{"):
        try:
            json.loads(first)
        except json.JSONDecodeError:
            return "object"  # the first line is not a whole object: the file is one, or it is broken (said then)
    return "lines"


def read_items(path: Path) -> Iterator[tuple[int, dict[str, Any] | ParseError]]:
    """Each identity body with the line it starts on; a JSON array, one JSON object, or one object per line."""
    layout = _layout(path)
    if layout == "array":
        yield from _array_items(path.read_text(encoding="utf-8"))
        return
    if layout == "object":
        try:
            yield 1, json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            yield exc.lineno, ParseError(f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})")
        return
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, ParseError(f"not valid JSON ({exc.msg} at column {exc.colno})")
                continue
            yield number, item if isinstance(item, dict) else ParseError("expected a JSON object")


def _array_items(text: str) -> Iterator[tuple[int, dict[str, Any] | ParseError]]:
    decoder = json.JSONDecoder()
    pos, line = text.index("[") + 1, text.count("\n", 0, text.index("[")) + 1

    def skip(p: int, chars: str) -> int:
        while p < len(text) and text[p] in chars:
            p += 1
        return p

    while True:
        start = skip(pos, " \t\r\n")
        line += text.count("\n", pos, start)
        if start >= len(text):
            yield line, ParseError("the JSON array is not closed")
            return
        if text[start] == "]":
            return
        try:
            item, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError as exc:
            yield exc.lineno, ParseError(f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
                                         "the rest of the file was not read")
            return
        yield line, item if isinstance(item, dict) else ParseError("expected a JSON object")
        line += text.count("\n", start, end)
        pos = skip(end, " \t\r\n")
        line += text.count("\n", end, pos)
        if pos < len(text) and text[pos] == ",":
            pos += 1


class ServiceTarget:
    """Straight into the store (AdminService.create: validated, hashed, one transaction per identity)."""

    def __init__(self, service: Any, concurrency: int = 8) -> None:
        self.service, self.limit = service, asyncio.Semaphore(concurrency)

    async def one(self, body: dict[str, Any]) -> Outcome:
        async with self.limit:
            try:
                await self.service.create(body)
            except Conflict as exc:
                return Outcome("skipped", exc.reason)
            except GatekeeperError as exc:
                return Outcome("failed", exc.reason or exc.message)
        return Outcome("imported")

    async def create(self, bodies: list[dict[str, Any]]) -> list[Outcome]:
        return list(await asyncio.gather(*(self.one(b) for b in bodies)))


class AdminApiTarget:
    """A running gatekeeper's (or Kratos') admin API: PATCH /admin/identities in batches."""

    def __init__(self, http: Any, admin_url: str) -> None:
        self.http, self.url = http, admin_url.rstrip("/") + "/admin/identities"

    async def create(self, bodies: list[dict[str, Any]]) -> list[Outcome]:
        resp = await self.http.patch(self.url, json={"identities": [{"create": b} for b in bodies]})
        try:
            results = resp.json()["identities"]
        except (ValueError, KeyError, TypeError):
            reason = envelope_reason(resp.text)
            return [Outcome("failed", f"HTTP {resp.status_code}: {reason}") for _ in bodies]
        out = []
        for r in results:
            if r.get("action") == "create":
                out.append(Outcome("imported"))
            else:
                err = r.get("error") or {}
                status = "skipped" if err.get("code") == 409 else "failed"
                out.append(Outcome(status, str(err.get("reason") or err.get("message") or "refused")))
        return out


@dataclass
class Summary:
    imported: int = 0
    skipped: int = 0
    failed: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.imported + self.skipped + self.failed


class Importer:
    def __init__(self, target: Target, err: TextIO, *, total: int | None = None, batch: int = BATCH) -> None:
        self.target, self.err, self.total, self.batch = target, err, total, batch
        self.summary = Summary()
        self._drawn = 0.0

    async def run(self, items: Iterator[tuple[int, dict[str, Any] | ParseError]]) -> Summary:
        pending: list[tuple[int, dict[str, Any]]] = []
        for line, item in items:
            if isinstance(item, ParseError):
                self._fail(line, item.message)
                continue
            pending.append((line, item))
            if len(pending) >= self.batch:
                await self._flush(pending)
                pending = []
        if pending:
            await self._flush(pending)
        self._draw(force=True)
        self.err.write("\n")
        return self.summary

    async def _flush(self, pending: list[tuple[int, dict[str, Any]]]) -> None:
        outcomes = await self.target.create([body for _, body in pending])
        for (line, _), outcome in zip(pending, outcomes, strict=True):
            if outcome.status == "imported":
                self.summary.imported += 1
            elif outcome.status == "skipped":
                self.summary.skipped += 1
            else:
                self._fail(line, outcome.reason)
        self._draw()

    def _fail(self, line: int, reason: str) -> None:
        self.summary.failed += 1
        self.summary.errors.append((line, reason))
        self.err.write(f"\rline {line}: {reason}\n")

    def _draw(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._drawn < 0.2:
            return
        self._drawn = now
        done = self.summary.total
        if self.total:
            filled = min(30, done * 30 // self.total)
            bar = f"[{'#' * filled}{'.' * (30 - filled)}] {done}/{self.total} {done * 100 // self.total}%"
        else:
            bar = f"{done} processed"
        self.err.write(f"\rimporting {bar}")
        self.err.flush()


def count_items(path: Path) -> int | None:
    """How many items the file holds (for the progress bar); None when it is one JSON array (counted later)."""
    layout = _layout(path)
    if layout != "lines":
        return None if layout == "array" else 1
    with path.open(encoding="utf-8") as f:
        return sum(1 for line in f if line.strip())
