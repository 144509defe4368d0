"""Credential strategies, one module per method; each adds its nodes to a flow and checks submissions.

The contract (Kratos' strategy interface): `populate_*` adds nodes; `login`/`register` return the
identity, raise `NotResponsible` for another method's submission, or `ValidationFailed` after writing
messages into the flow. The flow handlers build the built-in ones; further first factors (oidc) reach
them through their constructors (`identity/ports.py`).
"""

from __future__ import annotations

from gatekeeper.identity.strategies.identifier_first import IdentifierFirstStrategy
from gatekeeper.identity.strategies.password import PasswordStrategy
from gatekeeper.identity.strategies.profile import ProfileStrategy

__all__ = ["IdentifierFirstStrategy", "PasswordStrategy", "ProfileStrategy"]
