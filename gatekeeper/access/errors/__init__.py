"""Error handlers, one module each; importing this package registers them (a written list)."""

from gatekeeper.access.errors import json, redirect, www_authenticate  # noqa: F401
