"""`noop`: changes nothing. Unlike Oathkeeper it never copies client headers into the trusted set, so the
decisions API cannot echo a forged identity header back."""

from __future__ import annotations

from gatekeeper.access.handlers import AuthSession, Deps, NoConfig


class NoopMutator:
    sets_headers: tuple[str, ...] = ()

    def __init__(self, cfg: NoConfig, deps: Deps) -> None:
        pass

    async def mutate(self, session: AuthSession) -> None:
        return None
