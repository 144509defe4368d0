"""The permissions domain (Keto): namespaces from config, the tuple service, the check and expand engines."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from gatekeeper.config import Config, ConfigError, ConfigProblem
from gatekeeper.config.permissions import NamespaceDirectory, NamespaceFile
from gatekeeper.errors import GatekeeperError
from gatekeeper.http.keto.services import PermissionServices
from gatekeeper.permissions.cache import CheckCache
from gatekeeper.permissions.check import CheckEngine
from gatekeeper.permissions.expand import ExpandEngine
from gatekeeper.permissions.metrics import PermissionMetrics
from gatekeeper.permissions.model import tuple_from_json
from gatekeeper.permissions.namespaces import (
    NamespaceFileError,
    NamespaceSet,
    load_namespaces,
    read_namespace_files,
    read_opl_file,
)
from gatekeeper.permissions.pagination import PageTokens
from gatekeeper.permissions.tuples import RelationTuples
from gatekeeper.permissions.watch import NamespaceWatcher
from gatekeeper.store import Store

log = logging.getLogger("gatekeeper.permissions")


def load_model(config: Config) -> NamespaceSet:
    """The configured namespaces; ConfigError naming file:line:column of each problem in an OPL file."""
    try:
        return load_namespaces(config.namespaces)
    except NamespaceFileError as exc:
        path = "namespaces" if isinstance(config.namespaces, NamespaceDirectory) else "namespaces.location"
        raise ConfigError([ConfigProblem(where, None, path, message) for where, message in exc.problems]) from None


TUPLES_CHANGED = "relation-tuples-changed"
"""The revocation-broadcast event of a tuple write (session events are hex token hashes, never this)."""


class TupleChangeBroadcast:
    """Carries tuple writes to every replica's check cache over the store's revocation broadcast
    (identity/revocation.py): a write clears this replica's cache and appends an event; an event from any replica,
    or a broadcast that cannot be read, clears it."""

    def __init__(self, store: Store, cache: CheckCache) -> None:
        self.store, self.cache = store, cache

    @classmethod
    def for_config(cls, config: Config, store: Store) -> TupleChangeBroadcast:
        """With this process's check cache as `limit` configures it."""
        return cls(store, CheckCache(config.limit.check_cache_ttl, config.limit.check_cache_size))

    async def changed(self) -> None:
        self.cache.clear()
        await self.store.publish_revoked([TUPLES_CHANGED])

    def received(self, events: list[str]) -> None:
        if TUPLES_CHANGED in events:
            self.cache.clear()

    @staticmethod
    def sessions_only(handler: Callable[[list[str]], None]) -> Callable[[list[str]], None]:
        """`handler`, handed only the session events (and not called when there are none)."""
        def handle(events: list[str]) -> None:
            hashes = [e for e in events if e != TUPLES_CHANGED]
            if hashes:
                handler(hashes)
        return handle


CHECK_PATH = "/relation-tuples/check"  # the mirrored one (403 on denial); /openapi always answers 200
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
WILDCARDS = frozenset({"", "0.0.0.0", "::"})  # noqa: S104 - names of the listener's bind address, not a bind


class InProcessChecks:
    """The access domain's `PermissionChecker`: Keto's check on this process's engine. `serves` the URLs of
    this process's own `POST /relation-tuples/check`: the api listener's port on a loopback name, on its bind
    address, or as its `serve.api.base_url` names it."""

    def __init__(self, engine: CheckEngine, config: Config) -> None:
        api = config.serve.api
        self.engine = engine
        self.own = {(host, api.port) for host in LOOPBACK | ({api.host} - WILDCARDS)}
        if api.base_url:
            base = urlsplit(api.base_url)
            self.own.add((base.hostname or "", base.port or (443 if base.scheme == "https" else 80)))

    def serves(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or parts.path != CHECK_PATH:
            return False
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return False
        return (parts.hostname or "", port) in self.own

    async def check(self, tuple_json: Mapping[str, Any], max_depth: int = 0) -> bool:
        """As the endpoint answers; a tuple it refuses (its 4xx) is an error, as the HTTP call's would be."""
        try:
            asked = tuple_json if isinstance(tuple_json, dict) else dict(tuple_json)
            return await self.engine.check(tuple_from_json(asked), max_depth)
        except GatekeeperError as exc:
            if exc.status >= 500:
                raise
            raise GatekeeperError(reason=f"the permission check refused the tuple: {exc.reason or exc.message}"
                                  ) from None


def build_permissions(config: Config, store: Store, metrics: PermissionMetrics | None = None,
                      changes: TupleChangeBroadcast | None = None) -> PermissionServices:
    """The Keto services; with `changes`, checks are cached (`limit.check_cache_ttl`) and tuple writes announced."""
    namespaces = load_model(config)
    files = config.namespaces if isinstance(config.namespaces, NamespaceFile | NamespaceDirectory) else None
    strict = isinstance(files, NamespaceFile) and files.experimental_strict_mode
    read = read_namespace_files if isinstance(files, NamespaceDirectory) else read_opl_file
    watcher = NamespaceWatcher(namespaces, files.path if files else None,
                               float(config.access_rules.watch_interval) or 1.0, metrics, read)
    current = watcher.current
    return PermissionServices(
        namespaces=current, tuples=RelationTuples(store, current, PageTokens(_page_keys(config)), changes),
        checks=CheckEngine(store, current, config.limit, metrics, cache=changes.cache if changes else None,
                           strict=strict),
        expand=ExpandEngine(store, config.limit),
        watcher=watcher, max_batch=config.limit.max_batch_check_size)


def _page_keys(config: Config) -> list[bytes]:
    """Page-token keys from `secrets.pagination`, else `secrets.default`, else the cookie secrets."""
    chosen = config.secrets.pagination or config.secrets.default or config.cookie_secrets
    if not chosen:
        log.warning("no secrets.pagination: page tokens of GET /relation-tuples are signed with a random key "
                    "(they end on restart and differ between replicas)")
        return [secrets.token_bytes(32)]
    return [hashlib.sha256(b"gatekeeper relation-tuple pages\0" + s.value.encode()).digest() for s in chosen]
