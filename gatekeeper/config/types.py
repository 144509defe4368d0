"""Value types that config files spell as strings: durations and secrets."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


class Duration(float):
    """Seconds, written in config as a Go duration (`1h30m`, `15m`, `250ms`) like Kratos and Oathkeeper."""

    @classmethod
    def parse(cls, text: str | int | float) -> Duration:
        if isinstance(text, bool):
            raise ValueError("expected a duration such as 10s, 15m or 1h")
        if isinstance(text, int | float):
            return cls(float(text))
        if not isinstance(text, str):  # a list or mapping in YAML: a problem to report, not a crash
            raise ValueError(f"expected a duration such as 10s, 15m or 1h, got {type(text).__name__} {text!r}")
        text = text.strip()
        if text in ("0", ""):
            return cls(0.0)
        pos, total = 0, 0.0
        for match in _DURATION_PART.finditer(text):
            if match.start() != pos:
                break
            total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
            pos = match.end()
        if pos != len(text) or pos == 0:
            raise ValueError(f"expected a duration such as 10s, 15m or 1h, got {text!r}")
        return cls(total)


@dataclass(frozen=True)
class Secret:
    """A secret value that never prints itself."""

    value: str = field(repr=False)

    def __str__(self) -> str:
        return "[redacted]"

    def __repr__(self) -> str:
        return "Secret([redacted])"
