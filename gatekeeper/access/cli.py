"""`gatekeeper rules ...` commands."""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the `rules` command group."""
