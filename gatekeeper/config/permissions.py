"""Keto's sections: `namespaces` (the legacy list `[{id, name}]`, a `file://` URL of a directory or file of
legacy namespace files, or `{location: file://...}` naming an Ory Permission Language file) and `limit` (read
depth and width of checks and expansions).

`namespaces` takes one of three shapes, so `convert.build` leaves it raw and `build_namespaces` types it after.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from gatekeeper.config.convert import build
from gatekeeper.config.problems import ConfigProblem
from gatekeeper.config.types import Duration
from gatekeeper.yamlpos import Source


@dataclass(frozen=True)
class LegacyNamespace:
    """One entry of the legacy list: a namespace without rewrites (any relation name is accepted)."""

    name: str
    id: int | None = None
    config: Mapping[str, Any] = field(default_factory=dict)


def _local_path(location: str) -> str:
    """The local path a `file://` URL names."""
    parts = urlsplit(location)
    return unquote(parts.netloc + parts.path) if parts.scheme == "file" else location


@dataclass(frozen=True)
class NamespaceFile:
    """`namespaces.location`: the OPL file (`file://./namespaces.keto.ts`, `file:///etc/keto/namespaces.ts`)."""

    location: str
    experimental_strict_mode: bool = False

    @property
    def path(self) -> str:
        return _local_path(self.location)


@dataclass(frozen=True)
class NamespaceDirectory:
    """`namespaces: file:///etc/keto/namespaces`: Keto's legacy namespace files (`{id, name}` in .json, .yaml,
    .yml or .toml), a directory of them or one."""

    location: str

    @property
    def path(self) -> str:
        return _local_path(self.location)


Namespaces = tuple[LegacyNamespace, ...] | NamespaceFile | NamespaceDirectory | None


@dataclass(frozen=True)
class Limit:
    """Keto's `limit`: a request's `max-depth` is capped by `max_read_depth`; a check follows at most
    `max_read_width` subject sets of one relation; a batch check takes at most `max_batch_check_size` tuples and
    checks `batch_check_max_parallelization` of them at a time. gatekeeper's: a check's answer is cached on the
    replica for `check_cache_ttl` (0: off), at most `check_cache_size` answers."""

    max_read_depth: int = 5
    max_read_width: int = 100
    max_batch_check_size: int = 10
    batch_check_max_parallelization: int = 5
    check_cache_ttl: Duration = Duration(5.0)
    check_cache_size: int = 100_000


def build_namespaces(raw: Any, source: Source, problems: list[ConfigProblem]) -> Namespaces:
    """Type the raw `namespaces` value (problems appended with file and line)."""
    if raw is None:
        return None
    if isinstance(raw, list):
        entries = tuple(build(LegacyNamespace, item, at=f"namespaces.{i}", source=source, problems=problems)
                        for i, item in enumerate(raw))
        seen: set[str] = set()
        for i, entry in enumerate(entries):
            if entry.name in seen:
                problems.append(ConfigProblem(source.name, source.line(f"namespaces.{i}"), f"namespaces.{i}.name",
                                              f"namespace {entry.name!r} is listed twice"))
            seen.add(entry.name)
        return entries
    if isinstance(raw, Mapping):
        found = build(NamespaceFile, raw, at="namespaces", source=source, problems=problems)
        if isinstance(found.location, str) and not found.location.startswith("file://"):
            problems.append(ConfigProblem(source.name, source.line("namespaces.location"), "namespaces.location",
                                          f"expected a file:// URL of an OPL file, got {found.location!r}"))
        return found
    if isinstance(raw, str) and raw.startswith("file://"):
        return NamespaceDirectory(raw)
    problems.append(ConfigProblem(
        source.name, source.line("namespaces"), "namespaces",
        "expected a list of {id, name}, a file:// URL of a directory of namespace files, or "
        f"{{location: file://...namespaces.keto.ts}}, got {raw!r}"))
    return None


def check_limit(limit: Limit, add: Callable[[str, str], None]) -> None:
    for key in ("max_read_depth", "max_read_width", "max_batch_check_size", "batch_check_max_parallelization"):
        value = getattr(limit, key)
        if value is not None and not 1 <= value <= 65535:
            add(f"limit.{key}", f"expected a number between 1 and 65535, got {value}")
    if limit.check_cache_ttl < 0:
        add("limit.check_cache_ttl", f"expected a duration of 0 (off) or more, got {limit.check_cache_ttl}")
    if limit.check_cache_size < 1:
        add("limit.check_cache_size", f"expected at least 1, got {limit.check_cache_size}")
