"""The Kratos half: identities, self-service flows, sessions, courier."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gatekeeper.app import App


async def setup(app: App) -> None:
    """Register the identity services, routes (public and admin listeners) and session source on `app`."""
