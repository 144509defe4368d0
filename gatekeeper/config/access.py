"""Oathkeeper's sections: `access_rules`, `authenticators`, `authorizers`, `mutators`, `errors`.

Handler `config` blocks stay raw mappings here: each handler validates its own typed config with
`gatekeeper.config.convert.build` when the rule set is compiled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class AccessRules:
    repositories: tuple[str, ...] = ()
    matching_strategy: Literal["glob", "regexp"] = "regexp"


@dataclass(frozen=True)
class HandlerSection:
    """`<kind>.<handler>`: whether it may be used, and its global config (merged with per-rule config)."""

    enabled: bool = False
    config: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Errors:
    fallback: tuple[str, ...] = ("json",)
    handlers: Mapping[str, HandlerSection] = field(default_factory=dict)
