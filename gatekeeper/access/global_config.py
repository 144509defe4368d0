"""Validate the global handler sections (`authenticators`, `authorizers`, `mutators`, `errors.handlers`) at
`config check` and start-up, not only when a rule uses a handler: unknown handler names (with "did you mean")
and, for every enabled handler, unknown keys and wrong types in its `config`, built with the handler's own
typed config class. Keys a rule may supply (Oathkeeper merges rule config over global config) may be missing.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from gatekeeper.access.catalog import HANDLERS
from gatekeeper.access.compiler import handler_section
from gatekeeper.config import Config, ConfigError, ConfigProblem
from gatekeeper.config.access import HandlerSection
from gatekeeper.config.convert import build

_REQUIRED = "is required"


def _sections(config: Config) -> list[tuple[str, str, Mapping[str, HandlerSection]]]:
    """(registry kind, config key path, sections) for each of the four handler sections."""
    return [("authenticators", "authenticators", config.authenticators),
            ("authorizers", "authorizers", config.authorizers),
            ("mutators", "mutators", config.mutators),
            ("errors", "errors.handlers", config.errors.handlers)]


def global_config_problems(config: Config) -> list[ConfigProblem]:
    """Every problem in the handler sections, each with file, line and key path."""
    source = config.source
    out: list[ConfigProblem] = []
    for kind, key, sections in _sections(config):
        known = HANDLERS[kind]
        for name in sections:
            path = f"{key}.{name}"
            registration = known.get(name)
            if registration is None:
                close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
                hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(sorted(known))}"
                out.append(ConfigProblem(source.file(path), source.line(path), path,
                                         f"unknown handler {name!r} ({hint})"))
                continue
            enabled = handler_section(config, kind, name)  # errors.handlers.json is on unless switched off
            if enabled is None or not enabled.enabled:
                continue
            found: list[ConfigProblem] = []
            build(registration.config, enabled.config, at=f"{path}.config", source=source, problems=found)
            out.extend(_partial(found))
    return out


def _partial(found: list[ConfigProblem]) -> list[ConfigProblem]:
    """Drop "is required" and what the constructor said about a block with a required key missing."""
    incomplete = {p.path.rpartition(".")[0] for p in found if p.message == _REQUIRED}
    return [p for p in found if p.message != _REQUIRED and p.path not in incomplete]


def check_global_config(config: Config) -> None:
    """Raise ConfigError listing every handler-section problem (`config check` and `serve` call this)."""
    problems = global_config_problems(config)
    if problems:
        problems.sort(key=lambda p: (p.line is None, p.line or 0))
        raise ConfigError(problems)
