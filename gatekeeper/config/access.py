"""Oathkeeper's sections: `access_rules`, `authenticators`, `authorizers`, `mutators`, `errors`.

Handler `config` blocks stay raw mappings here: each handler validates its own typed config with
`gatekeeper.config.convert.build` when the rule set is compiled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from gatekeeper.config.types import Duration


@dataclass(frozen=True)
class AccessRules:
    """Oathkeeper's `access_rules`, plus how often gatekeeper polls its sources for changes."""

    repositories: tuple[str, ...] | str = ()  # Oathkeeper also accepts a single URL
    matching_strategy: Literal["glob", "regexp"] = "regexp"
    watch_interval: Duration = Duration(1.0)
    remote_refresh_interval: Duration = Duration(30.0)

    def __post_init__(self) -> None:
        value = self.repositories
        if isinstance(value, str):
            value = tuple(v.strip() for v in value.split(",") if v.strip())  # also ACCESS_RULES_REPOSITORIES=a,b
        object.__setattr__(self, "repositories", tuple(str(v) for v in value or ()))


@dataclass(frozen=True)
class HandlerSection:
    """`<kind>.<handler>`: whether it may be used, and its global config (merged with per-rule config)."""

    enabled: bool = False
    config: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Errors:
    fallback: tuple[str, ...] = ("json",)
    handlers: Mapping[str, HandlerSection] = field(default_factory=dict)
