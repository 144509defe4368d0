"""What the Keto adapters are handed by the composition root."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gatekeeper.permissions.check import CheckEngine
from gatekeeper.permissions.expand import ExpandEngine
from gatekeeper.permissions.namespaces import NamespaceSet
from gatekeeper.permissions.tuples import RelationTuples
from gatekeeper.permissions.watch import NamespaceWatcher


@dataclass(frozen=True)
class PermissionServices:
    namespaces: Callable[[], NamespaceSet]  # the current set (a reload swaps it)
    tuples: RelationTuples
    checks: CheckEngine
    expand: ExpandEngine
    watcher: NamespaceWatcher  # re-reads an OPL file when it changes (a service)
    max_batch: int  # limit.max_batch_check_size
