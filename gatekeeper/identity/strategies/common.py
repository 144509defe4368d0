"""Helpers strategies share: attaching messages, reading submitted traits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gatekeeper.identity.flows.base import Flow, ValidationFailed
from gatekeeper.identity.schemas import IdentitySchema
from gatekeeper.identity.ui import add_message, set_value

if TYPE_CHECKING:
    pass

MAX_FIELD = 4096


def attach(flow: Flow, name: str, message: dict[str, Any]) -> None:
    """On the node named `name`, or on the flow when the form has no such node."""
    if not add_message(flow.nodes, name, message):
        flow.add_message(message)


def refill_traits(flow: Flow, schema: IdentitySchema, traits: dict[str, Any]) -> None:
    for f in schema.fields:
        node: Any = traits
        for key in f.path:
            node = node.get(key) if isinstance(node, dict) else None
        set_value(flow.nodes, f.name, node)


def checked_traits(flow: Flow, schema: IdentitySchema, submitted: dict[str, Any]) -> dict[str, Any]:
    """The submitted traits, coerced to the schema and put back into the form; ValidationFailed (the problems on
    their fields) when they do not validate."""
    traits = schema.coerce(submitted)
    refill_traits(flow, schema, traits)
    problems = schema.validate(traits)
    for name, message in problems:
        attach(flow, name, message)
    if problems:
        raise ValidationFailed()
    return traits


def submitted_traits(body: dict[str, Any], fallback: Any = None) -> dict[str, Any]:
    traits = body.get("traits")
    if isinstance(traits, dict):
        return traits
    return fallback if isinstance(fallback, dict) else {}


def text_field(body: dict[str, Any], *names: str) -> str | None:
    for name in names:
        value = body.get(name)
        if isinstance(value, str):
            return value
    return None

