"""What the access domain needs from outside, declared here by the consumer (the identity domain's `Sessions`
fits `SessionSource` without knowing it; the composition root hands one to the other)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class SessionSource(Protocol):
    """How session authenticators ask about a session."""

    async def session_for_token(self, token: str) -> Mapping[str, Any] | None:
        """Kratos session JSON for an active session token (cookie value or session token), else None.

        Raises StoreUnavailable when it cannot tell: callers deny.
        """
