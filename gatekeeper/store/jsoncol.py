"""JSON columns (traits, metadata, credential config, authentication methods): compact text in, values out."""

from __future__ import annotations

import json
from typing import Any


def dump(value: Any) -> str | None:
    """The column text of `value` (NULL for None)."""
    return None if value is None else json.dumps(value, separators=(",", ":"))


def load(text: str | None) -> Any:
    """The value of a JSON column (None for NULL)."""
    return None if text is None else json.loads(text)
