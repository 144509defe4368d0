"""The permissions domain (Keto): namespaces from config, the tuple service, the check and expand engines."""

from __future__ import annotations

import hashlib
import logging
import secrets

from gatekeeper.config import Config, ConfigError, ConfigProblem
from gatekeeper.config.permissions import NamespaceFile
from gatekeeper.http.keto.services import PermissionServices
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


def build_permissions(config: Config, store: Store, metrics: PermissionMetrics | None = None) -> PermissionServices:
    namespaces = load_model(config)
    location = config.namespaces.path if isinstance(config.namespaces, NamespaceFile) else None
    watcher = NamespaceWatcher(namespaces, location, float(config.access_rules.watch_interval) or 1.0, metrics)
    current = watcher.current
    return PermissionServices(
        namespaces=current, tuples=RelationTuples(store, current, PageTokens(_page_keys(config))),
        checks=CheckEngine(store, current, config.limit, metrics), expand=ExpandEngine(store, config.limit),
        watcher=watcher, max_batch=config.limit.max_batch_check_size)


def _page_keys(config: Config) -> list[bytes]:
    """Page-token keys from `secrets.pagination`, else `secrets.default`, else the cookie secrets."""
    chosen = config.secrets.pagination or config.secrets.default or config.cookie_secrets
    if not chosen:
        log.warning("no secrets.pagination: page tokens of GET /relation-tuples are signed with a random key "
                    "(they end on restart and differ between replicas)")
        return [secrets.token_bytes(32)]
    return [hashlib.sha256(b"gatekeeper relation-tuple pages\0" + s.value.encode()).digest() for s in chosen]
