"""Authenticators, one module each; importing this package registers them (a written list)."""

from gatekeeper.access.authn import (  # noqa: F401
    anonymous,
    bearer_token,
    client_credentials,
    cookie_session,
    introspection,
    jwt,
    noop,
    unauthorized,
)
