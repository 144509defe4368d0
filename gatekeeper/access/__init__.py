"""The Oathkeeper half: access rules, the handler pipeline, proxy and decisions."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gatekeeper.app import App


async def setup(app: App) -> None:
    """Register the rule repository, the proxy factory and the access API routes on `app`."""
