"""The permissions domain (Keto): namespaces from config, the tuple service, the check and expand engines."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable

from gatekeeper.config import Config, ConfigError, ConfigProblem
from gatekeeper.config.permissions import NamespaceFile
from gatekeeper.http.keto.services import PermissionServices
from gatekeeper.permissions.cache import CheckCache
from gatekeeper.permissions.check import CheckEngine
from gatekeeper.permissions.expand import ExpandEngine
from gatekeeper.permissions.metrics import PermissionMetrics
from gatekeeper.permissions.namespaces import NamespaceFileError, NamespaceSet, load_namespaces
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
        path = "namespaces.location"
        raise ConfigError([ConfigProblem(where, None, path, message) for where, message in exc.problems]) from None


TUPLES_CHANGED = "relation-tuples-changed"
"""The revocation-broadcast event of a tuple write (session events are hex token hashes, never this)."""


class TupleChangeBroadcast:
    """Carries tuple writes to every replica's check cache over the store's revocation broadcast
    (identity/revocation.py): a write clears this replica's cache and appends an event; an event from any replica,
    or a broadcast that cannot be read, clears it."""

    def __init__(self, store: Store, cache: CheckCache) -> None:
        self.store, self.cache = store, cache

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


def build_permissions(config: Config, store: Store, metrics: PermissionMetrics | None = None,
                      changes: TupleChangeBroadcast | None = None) -> PermissionServices:
    """The Keto services; with `changes`, checks are cached (`limit.check_cache_ttl`) and tuple writes announced."""
    namespaces = load_model(config)
    location = config.namespaces.path if isinstance(config.namespaces, NamespaceFile) else None
    watcher = NamespaceWatcher(namespaces, location, float(config.access_rules.watch_interval) or 1.0, metrics)
    current = watcher.current
    return PermissionServices(
        namespaces=current, tuples=RelationTuples(store, current, PageTokens(_page_keys(config)), changes),
        checks=CheckEngine(store, current, config.limit, metrics, cache=changes.cache if changes else None),
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
