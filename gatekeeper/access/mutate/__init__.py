"""Mutators, one module each; importing this package registers them (a written list)."""

from gatekeeper.access.mutate import cookie, header, hydrator, id_token, noop  # noqa: F401
