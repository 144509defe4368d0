"""Scope strategies as ory/fosite: `hierarchic`, `exact`, `wildcard`, `none`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

Strategy = Callable[[Sequence[str], str], bool]


def _exact(granted: Sequence[str], needed: str) -> bool:
    return needed in granted


def _hierarchic(granted: Sequence[str], needed: str) -> bool:
    return any(needed == g or needed.startswith(g + ".") for g in granted)


def _wildcard(granted: Sequence[str], needed: str) -> bool:
    wanted = needed.split(".")
    for g in granted:
        parts = g.split(".")
        if len(parts) > len(wanted):
            continue
        if all(p == "*" or p == w for p, w in zip(parts, wanted, strict=False)) and (
                len(parts) == len(wanted) or parts[-1] == "*"):
            return True
    return False


STRATEGIES: dict[str, Strategy | None] = {"exact": _exact, "hierarchic": _hierarchic, "wildcard": _wildcard,
                                          "none": None, "": None}


def config_problems(strategy: str) -> list[tuple[str, str]]:
    if strategy in STRATEGIES:
        return []
    return [("scope_strategy", "expected hierarchic, exact, wildcard or none")]


def scopes_of(claims: dict[str, Any]) -> list[str]:
    """Normalise `scp` / `scope` / `scopes` (list or space-separated string) into `scp`."""
    for key in ("scp", "scope", "scopes"):
        if key in claims:
            value = claims.pop(key)
            scopes = value.split() if isinstance(value, str) else [str(v) for v in value or ()]
            claims["scp"] = scopes
            return scopes
    return []


def check(strategy: str, granted: Sequence[str], required: Sequence[str]) -> str | None:
    """None when every required scope is granted, else the reason."""
    fn = STRATEGIES.get(strategy)
    if not required:
        return None
    if fn is None:
        return "required_scope is set but scope_strategy is none"
    missing = [s for s in required if not fn(granted, s)]
    return f"missing scope(s): {' '.join(missing)}" if missing else None
