"""The provider's tokens on each linked provider entry of an identity's oidc credential, sealed (continuity.py).

Kratos keeps the first ones (`initial_id_token`, `initial_access_token`, `initial_refresh_token`); gatekeeper
also keeps the current ones (`tokens`: access, refresh and id token with the access token's expiry), replaced at
every sign-in with that provider and by refresh.py. `refresh_at` (plain, epoch seconds) is set only when the
provider granted `offline_access` and returned a refresh token: a third of the access token's lifetime (at
least a minute) before it expires."""

from __future__ import annotations

import time
from typing import Any

from gatekeeper.identity.oidc.continuity import Sealer

OFFLINE = "offline_access"
NAMES = ("id_token", "access_token", "refresh_token")


def offline_granted(answer: dict[str, Any], requested: tuple[str, ...]) -> bool:
    """`offline_access` in the scope the token answer names (or, when it names none, in the requested one)."""
    granted = answer.get("scope")
    scopes = str(granted).replace(",", " ").split() if isinstance(granted, str) and granted else requested
    return OFFLINE in scopes and isinstance(answer.get("refresh_token"), str) and bool(answer["refresh_token"])


def refresh_due(expires_in: Any, now: float) -> float | None:
    """When to refresh an access token that lives `expires_in` seconds (None: it does not say)."""
    if not isinstance(expires_in, int | float) or isinstance(expires_in, bool) or expires_in <= 0:
        return None
    return now + expires_in - max(60.0, expires_in / 3)


def current(sealer: Sealer, answer: dict[str, Any], requested: tuple[str, ...],
            previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """The entry keys for a token answer (`previous`: the tokens it replaces; a refresh may omit some)."""
    now = time.time()
    kept = {name: answer.get(name) or (previous or {}).get(name) for name in NAMES}
    expires_in = answer.get("expires_in")
    kept["expires_at"] = now + expires_in if isinstance(expires_in, int | float) and expires_in > 0 else None
    out: dict[str, Any] = {"tokens": sealer.seal({k: v for k, v in kept.items() if v})}
    offline = offline_granted({**answer, "refresh_token": kept["refresh_token"]}, requested)
    due = refresh_due(expires_in, now) if offline else None
    if due is not None:
        out["refresh_at"] = due
    return out


def initial(sealer: Sealer, answer: dict[str, Any]) -> dict[str, str]:
    """Kratos' `initial_*_token` keys."""
    return {f"initial_{name}": sealer.seal({"v": answer[name]}) for name in NAMES if isinstance(answer.get(name), str)}


def opened(sealer: Sealer, entry: dict[str, Any]) -> dict[str, Any]:
    """The current tokens of an entry ({} when it has none), falling back to Kratos' initial id_token."""
    tokens = sealer.open(entry.get("tokens")) or {}
    if "id_token" not in tokens:
        first = sealer.open(entry.get("initial_id_token"))
        if first and isinstance(first.get("v"), str):
            tokens["id_token"] = first["v"]
    return tokens
