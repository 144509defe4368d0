"""Rule repositories (`access_rules.repositories`): `file://` files and directories, `http(s)://` URLs,
inline `base64://` / `inline://`. Loaded at start, then watched: files and directories are polled
(stat signature, which also notices Kubernetes' `..data` symlink swap), remote URLs re-fetched.

A source that fails to read, parse or compile is reported with file:line:rule:key and its last good
rules stay in force (a reload swaps one reference; the active set is never mutated).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

from gatekeeper.access.compiler import RuleSet, compile_ruleset
from gatekeeper.access.handlers import Deps
from gatekeeper.access.metrics import AccessMetrics
from gatekeeper.access.rules import LoadedRule, RuleError, parse_rules
from gatekeeper.config import Config
from gatekeeper.config.problems import ConfigProblem

log = logging.getLogger("gatekeeper.access.rules")

RULE_SUFFIXES = (".json", ".yaml", ".yml")


@dataclass(frozen=True)
class Location:
    """One configured repository URL, resolved."""

    url: str
    kind: str  # "file" | "dir" | "http" | "inline"
    path: Path | None = None


def locate(url: str) -> Location:
    parts = urlsplit(url)
    if parts.scheme in ("http", "https"):
        return Location(url, "http")
    if parts.scheme in ("base64", "inline"):
        return Location(url, "inline")
    if parts.scheme in ("", "file"):
        raw = unquote(parts.netloc + parts.path) if parts.scheme == "file" else url
        path = Path(raw)
        return Location(url, "dir" if path.is_dir() or raw.endswith("/") else "file", path)
    raise ValueError(f"unsupported rule repository {url!r} (use file://, http(s):// or base64://)")


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()  # follows symlinks: a swapped ..data target changes inode and mtime
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def dir_files(path: Path) -> list[Path]:
    try:
        entries = sorted(path.iterdir())
    except OSError:
        return []
    return [p for p in entries if not p.name.startswith(".") and p.suffix in RULE_SUFFIXES and p.is_file()]


def version_of(ruleset: RuleSet) -> str:
    """The rule set's version: sha256 over its rules as `GET /rules` shows them, in order."""
    doc = json.dumps([r.loaded.as_json() for r in ruleset.rules], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(doc.encode()).hexdigest()


class RuleRepository:
    """The rule-set holder and its watcher (a service: start/stop)."""

    def __init__(self, config: Config, deps: Deps, metrics: AccessMetrics) -> None:
        self.config, self.deps, self.metrics = config, deps, metrics
        self.locations = [locate(u) for u in config.access_rules.repositories]
        self.current: RuleSet | None = None
        self.version = ""  # sha256 of the active rules (canonical JSON): equal on replicas that converged
        self.good: dict[str, list[LoadedRule]] = {}  # source name -> last good rules
        self.signatures: dict[str, object] = {}
        self.never_loaded: set[str] = set()
        self.last_problems: list[ConfigProblem] = []
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if not self.locations:
            log.warning("access_rules.repositories is empty: the proxy answers 404 outside the identity prefix")
            try:
                self.current = compile_ruleset([], self.config, self.deps)
            except RuleError as exc:
                self.last_problems = exc.problems
                for p in exc.problems:
                    log.error("access configuration problem: %s", p)
        await self.refresh(initial=True)
        self._task = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def ready(self) -> str | None:
        if self.current is None:
            return "no access rules have been loaded"
        if self.never_loaded:
            return f"rule source(s) never loaded: {', '.join(sorted(self.never_loaded))}"
        return None

    async def _watch(self) -> None:
        file_every = float(self.config.access_rules.watch_interval) or 1.0
        remote_every = float(self.config.access_rules.remote_refresh_interval)
        waited = 0.0
        while True:
            await asyncio.sleep(file_every)
            waited += file_every
            remote = bool(remote_every) and waited >= remote_every
            if remote:
                waited = 0.0
            try:
                await self.refresh(remote=remote)
            except Exception as exc:  # noqa: BLE001 - the watcher must survive anything
                log.error("rule watcher failed", exc_info=exc)

    async def _read_all(self, *, initial: bool, remote: bool) -> dict[str, tuple[str | None, object]]:
        """Changed sources: name -> (text or None when unreadable, signature)."""
        changed: dict[str, tuple[str | None, object]] = {}
        seen: set[str] = set()
        for loc in self.locations:
            if loc.kind == "inline":
                seen.add(loc.url[:40])
                if initial:
                    try:
                        text = base64.b64decode(loc.url.split("://", 1)[1]).decode("utf-8")
                    except (ValueError, UnicodeDecodeError):
                        text = None
                    changed[loc.url[:40]] = (text, 0)
            elif loc.kind == "http":
                seen.add(loc.url)
                if initial or remote:
                    changed[loc.url] = (await self._fetch(loc.url), None)
            else:
                assert loc.path is not None
                files = dir_files(loc.path) if loc.kind == "dir" else [loc.path]
                for path in files:
                    name = str(path)
                    seen.add(name)
                    sig = _signature(path)
                    if sig is None:
                        if initial:
                            changed[name] = (None, None)
                        continue  # vanished (or mid-swap): keep the last good rules
                    if initial or self.signatures.get(name) != sig:
                        try:
                            changed[name] = (path.read_text(encoding="utf-8"), sig)
                        except (OSError, UnicodeDecodeError):
                            changed[name] = (None, sig)
        for gone in set(self.good) - seen:  # a file removed from a watched directory
            changed[gone] = ("", "removed")
        return changed

    async def _fetch(self, url: str) -> str | None:
        try:
            response = await self.deps.http.get(url, timeout=10.0)
        except httpx.HTTPError as exc:
            log.error("cannot fetch rules", extra={"url": url, "error": type(exc).__name__})
            return None
        if response.status_code != 200:
            log.error("cannot fetch rules", extra={"url": url, "status": response.status_code})
            return None
        return response.text

    async def refresh(self, *, initial: bool = False, remote: bool = False) -> bool:
        """Re-read what changed; swap in a new rule set when it compiles. Returns True on a swap."""
        changed = await self._read_all(initial=initial, remote=remote)
        if not changed:
            return False
        candidate = dict(self.good)
        problems: list[ConfigProblem] = []
        for name, (text, sig) in changed.items():
            if text is None:
                problems.append(ConfigProblem(name, None, "", "cannot be read"))
                if name not in self.good:
                    self.never_loaded.add(name)
                continue
            if sig == "removed":
                candidate.pop(name, None)
                continue
            try:
                candidate[name] = parse_rules(text, name)
            except RuleError as exc:
                problems += exc.problems
                if name not in self.good:
                    self.never_loaded.add(name)
                self.signatures[name] = sig  # report once per change, not on every poll
                continue
        try:
            ruleset = compile_ruleset([r for name in sorted(candidate) for r in candidate[name]], self.config,
                                      self.deps)
        except RuleError as exc:
            problems += exc.problems
            ruleset = None
        for name, (_, sig) in changed.items():
            self.signatures[name] = sig
        self.last_problems = problems
        if problems:
            self.metrics.reloads.labels("failed").inc()
            for p in problems:
                log.error("rules not loaded: %s", p, extra={"file": p.file, "line": p.line, "key": p.path,
                                                            "problem": p.message})
        if ruleset is not None and self.current is None and not candidate and self.never_loaded:
            ruleset = None  # nothing could be loaded at all: stay unready and deny (503) rather than 404
        if ruleset is None:
            if self.current is not None:
                log.warning("keeping the last good rule set", extra={"rules": len(self.current.rules)})
            return False
        failed = {p.file for p in problems}
        self.good = candidate
        for name in changed:
            if name in candidate and name not in failed:
                self.never_loaded.discard(name)
        self.current = ruleset
        self.version = self.metrics.rules_version(version_of(ruleset))
        self.metrics.rules_loaded.set(len(ruleset.rules))
        self.metrics.reloads.labels("ok").inc()
        log.info("access rules loaded", extra={"rules": len(ruleset.rules), "sources": len(candidate),
                                               "version": self.version})
        return True
