"""The identity context: every service the flows and the HTTP surface use, built once at start-up."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from gatekeeper.config import Config
from gatekeeper.errors import TooManyRequests
from gatekeeper.identity import csrf
from gatekeeper.identity.identities import Identities
from gatekeeper.identity.metrics import IdentityMetrics
from gatekeeper.identity.passwords import Hasher, PasswordPolicy
from gatekeeper.identity.returnto import ReturnToPolicy
from gatekeeper.identity.schemas import SchemaRegistry
from gatekeeper.identity.sessions import Sessions
from gatekeeper.store import Store

log = logging.getLogger("gatekeeper.identity")

UI_PAGES = ("login", "registration", "settings", "recovery", "verification", "error")


def public_base_url(config: Config) -> str:
    """`serve.public.base_url` without a trailing slash (Kratos' default: the public listener)."""
    base = config.serve.public.base_url or f"http://127.0.0.1:{config.serve.public.port}"
    return base.rstrip("/")


@dataclass
class IdentityContext:
    config: Config
    store: Store
    schemas: SchemaRegistry
    identities: Identities
    sessions: Sessions
    hasher: Hasher
    policy: PasswordPolicy
    return_to: ReturnToPolicy
    public_base_url: str
    metrics: IdentityMetrics

    @property
    def csrf_cookie(self) -> str:
        return csrf.cookie_name(self.public_base_url)

    def ui_url(self, page: str) -> str:
        """`selfservice.flows.<page>.ui_url`, defaulting to the built-in UI under the public base URL."""
        flow = getattr(self.config.selfservice.flows, page)
        return flow.ui_url or f"{self.public_base_url}/ui/{page}"

    @property
    def default_return_url(self) -> str:
        return self.config.selfservice.default_browser_return_url or f"{self.public_base_url}/ui/welcome"

    async def throttle(self, key: str, limit: int, window: float) -> None:
        """Count an attempt against `key`; TooManyRequests (with Retry-After) past `limit` in the window."""
        if limit <= 0:
            return
        hits, ends = await self.store.hit(key, window)
        if hits > limit:
            retry = max(1, int((ends - datetime.now(UTC)).total_seconds()) + 1)
            raise TooManyRequests(f"Too many attempts, please retry in {retry} seconds", retry_after=retry,
                                  reason="Too many sign-in attempts for this account or from this address.")
