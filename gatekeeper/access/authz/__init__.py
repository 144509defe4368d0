"""Authorizers, one module each; importing this package registers them (a written list)."""

from gatekeeper.access.authz import allow, deny, expression, remote, remote_json  # noqa: F401
