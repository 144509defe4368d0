"""What a test does when this machine lacks something it needs (PostgreSQL, chromium, nginx): under CI (CI=true)
it fails, so that a CI run never passes by skipping it; elsewhere it is skipped with the reason."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def unavailable(why: str) -> NoReturn:
    """Fail under CI=true, skip elsewhere."""
    if in_ci():
        pytest.fail(f"{why} (CI=true: this test must run there, not be skipped)")
    pytest.skip(why)
