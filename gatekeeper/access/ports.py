"""What the access domain needs from outside, declared here by the consumer (the identity domain's `Sessions`
fits `SessionSource`, the permissions domain's checks `PermissionChecker`, without knowing it; the composition root
hands one to the other)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class SessionSource(Protocol):
    """How session authenticators ask about a session."""

    async def session_for_token(self, token: str) -> Mapping[str, Any] | None:
        """Kratos session JSON for an active session token (cookie value or session token), else None.

        Raises StoreUnavailable when it cannot tell: callers deny.
        """


class PermissionChecker(Protocol):
    """Keto's permission check, in this process."""

    def serves(self, url: str) -> bool:
        """Whether `url` is this process's own Keto check endpoint (`remote_json` then checks in process)."""

    async def check(self, tuple_json: Mapping[str, Any], max_depth: int = 0) -> bool:
        """Whether the relation tuple (Keto's JSON: namespace, object, relation, subject_id or subject_set) holds.

        Raises GatekeeperError when it cannot tell (a malformed tuple, the store unreachable): callers deny.
        """
