"""Provider tokens refreshed before they expire (tokens.py sets `refresh_at` only when the provider granted
`offline_access` and a refresh token). A Service: every INTERVAL seconds it pages through the oidc credentials,
and each linked provider entry that is due gets a `refresh_token` grant at its provider's token endpoint; the
new tokens replace the current ones (sealed) with a compare-and-set on the credential, so a sign-in that
changed it meanwhile wins and the entry is looked at again next round. A provider that refuses the refresh token
(revoked, expired) ends the refreshing of that entry; one that cannot be reached is asked again next round.
Every replica runs it: the compare-and-set makes a second refresh of the same entry a no-op (rotated refresh
tokens: the loser's grant fails once and stays failed only if the winner's write did not land)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter

from gatekeeper.errors import GatekeeperError
from gatekeeper.identity.oidc import tokens as oidc_tokens
from gatekeeper.identity.oidc.continuity import Sealer
from gatekeeper.identity.oidc.errors import OidcFailed
from gatekeeper.identity.oidc.providers import Provider
from gatekeeper.store import Store

log = logging.getLogger("gatekeeper.identity.oidc")

INTERVAL = 30.0
PAGE = 500


class TokenRefresher:
    def __init__(self, store: Store, providers: dict[str, Provider], sealer: Sealer,
                 registry: CollectorRegistry) -> None:
        self.store, self.providers, self.sealer = store, providers, sealer
        self.refreshes = Counter("gatekeeper_social_token_refreshes_total",
                                 "Provider token refreshes by provider and result (refreshed, refused, unavailable)",
                                 ["provider", "result"], registry=registry)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="oidc-token-refresh")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(INTERVAL)
            try:
                await self.run_once()
            except GatekeeperError as exc:
                log.warning("provider token refresh round failed", extra={"reason": exc.reason})

    async def run_once(self) -> int:
        """One round over every credential; how many entries were refreshed."""
        done, after = 0, ""
        while True:
            page = await self.store.credentials_of_type("oidc", after, PAGE)
            for identity_id, config in page:
                done += await self._credential(identity_id, config)
            if len(page) < PAGE:
                return done
            after = page[-1][0]

    async def _credential(self, identity_id: str, config: dict[str, Any]) -> int:
        now = time.time()
        entries = config.get("providers")
        if not isinstance(entries, list) or not any(_due(e, now) for e in entries):
            return 0
        fresh, refreshed = [], 0
        for e in entries:
            new, ok = await self._entry(e) if _due(e, now) else (e, False)
            fresh.append(new)
            refreshed += ok
        swapped = await self.store.swap_credential_config(identity_id, "oidc", config,
                                                          {**config, "providers": fresh}, datetime.now(UTC))
        return refreshed if swapped else 0

    async def _entry(self, entry: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """The entry after trying its refresh, and whether that worked."""
        provider = self.providers.get(str(entry.get("provider")))
        previous = self.sealer.open(entry.get("tokens")) or {}
        stale = {k: v for k, v in entry.items() if k != "refresh_at"}
        if provider is None or not previous.get("refresh_token"):
            return stale, False  # the provider is gone from the config, or nothing to refresh with: stop trying
        try:
            answer = await provider.token_request({"grant_type": "refresh_token",
                                                   "refresh_token": str(previous["refresh_token"])})
        except OidcFailed:
            self.refreshes.labels(provider.id, "refused").inc()
            log.info("provider refused a refresh token", extra={"provider": provider.id})
            return stale, False
        except GatekeeperError:
            self.refreshes.labels(provider.id, "unavailable").inc()
            return entry, False  # asked again next round
        self.refreshes.labels(provider.id, "refreshed").inc()
        return {**stale, **oidc_tokens.current(self.sealer, answer, provider.scope, previous)}, True


def _due(entry: Any, now: float) -> bool:
    due = entry.get("refresh_at") if isinstance(entry, dict) else None
    return isinstance(due, int | float) and due <= now
