"""The permissions domain (Keto): namespaces from config, the tuple service, the check and expand engines."""

from __future__ import annotations

import hashlib
import logging
import secrets

from gatekeeper.config import Config, ConfigError, ConfigProblem
from gatekeeper.http.keto.services import PermissionServices
from gatekeeper.permissions.check import CheckEngine
from gatekeeper.permissions.expand import ExpandEngine
from gatekeeper.permissions.namespaces import NamespaceFileError, load_namespaces
from gatekeeper.permissions.pagination import PageTokens
from gatekeeper.permissions.tuples import RelationTuples
from gatekeeper.store import Store

log = logging.getLogger("gatekeeper.permissions")


def build_permissions(config: Config, store: Store) -> PermissionServices:
    try:
        namespaces = load_namespaces(config.namespaces)
    except NamespaceFileError as exc:
        path = "namespaces.location"
        raise ConfigError([ConfigProblem(problem, None, path, "the permission model cannot be used")
                           for problem in exc.problems]) from None
    tokens = PageTokens(_page_keys(config))
    current = lambda: namespaces  # noqa: E731  (one set for the process' lifetime)
    return PermissionServices(
        namespaces=current, tuples=RelationTuples(store, current, tokens),
        checks=CheckEngine(store, current, config.limit), expand=ExpandEngine(store, config.limit))


def _page_keys(config: Config) -> list[bytes]:
    """Page-token keys from `secrets.pagination`, else `secrets.default`, else the cookie secrets."""
    chosen = config.secrets.pagination or config.secrets.default or config.cookie_secrets
    if not chosen:
        log.warning("no secrets.pagination: page tokens of GET /relation-tuples are signed with a random key "
                    "(they end on restart and differ between replicas)")
        return [secrets.token_bytes(32)]
    return [hashlib.sha256(b"gatekeeper relation-tuple pages\0" + s.value.encode()).digest() for s in chosen]
