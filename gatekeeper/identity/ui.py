"""UI nodes and containers in Kratos' JSON shape: `{type, group, attributes{..., node_type}, messages, meta}`."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

Node = dict[str, Any]


class Group(StrEnum):
    DEFAULT = "default"
    PASSWORD = "password"  # noqa: S105 - a UI group name
    PROFILE = "profile"
    OIDC = "oidc"
    CODE = "code"
    TOTP = "totp"
    LOOKUP_SECRET = "lookup_secret"  # noqa: S105 - a UI group name
    WEBAUTHN = "webauthn"
    PASSKEY = "passkey"
    IDENTIFIER_FIRST = "identifier_first"
    CAPTCHA = "captcha"
    SAML = "saml"


def input_node(name: str, group: Group, *, type: str = "text", value: Any = None, required: bool = False,
               disabled: bool = False, autocomplete: str | None = None, pattern: str | None = None,
               label: dict[str, Any] | None = None) -> Node:
    """An input node; `value` omitted when None and `required` only when true, as Kratos emits them."""
    attrs: dict[str, Any] = {"name": name, "type": type}
    if value is not None:
        attrs["value"] = value
    if required:
        attrs["required"] = True
    if autocomplete:
        attrs["autocomplete"] = autocomplete
    if pattern:
        attrs["pattern"] = pattern
    attrs["disabled"] = disabled
    attrs["node_type"] = "input"
    return {"type": "input", "group": str(group), "attributes": attrs, "messages": [],
            "meta": {"label": label} if label else {}}


def submit_node(name: str, value: str, group: Group, label: dict[str, Any]) -> Node:
    return input_node(name, group, type="submit", value=value, label=label)


def csrf_node(masked_token: str) -> Node:
    return input_node("csrf_token", Group.DEFAULT, type="hidden", value=masked_token, required=True)


def node_id(node: Node) -> str:
    attrs = node["attributes"]
    return str(attrs.get("name", "") if node["type"] == "input" else attrs.get("id", ""))


def find(nodes: list[Node], name: str) -> Node | None:
    for node in nodes:
        if node["type"] == "input" and node["attributes"].get("name") == name:
            return node
    return None


def set_value(nodes: list[Node], name: str, value: Any) -> None:
    node = find(nodes, name)
    if node is not None and node["attributes"]["type"] not in ("submit", "password"):
        if value is None:
            node["attributes"].pop("value", None)
        else:
            node["attributes"]["value"] = value


def add_message(nodes: list[Node], name: str, message: dict[str, Any]) -> bool:
    """Attach a message to the node named `name`; False when there is no such node."""
    node = find(nodes, name)
    if node is None:
        return False
    node["messages"].append(message)
    return True


def clear_messages(ui: dict[str, Any]) -> None:
    ui.pop("messages", None)
    for node in ui["nodes"]:
        node["messages"] = []


# identifier_first is not in Kratos' login list: its index is -1 there, so its nodes sort first
_LOGIN_GROUPS = ("identifier_first", "oidc", "default", "webauthn", "passkey", "code", "password", "totp",
                 "lookup_secret")
_REGISTRATION_GROUPS = ("oidc", "saml", "default", "webauthn", "passkey", "code", "password", "captcha",
                        "profile")


def _kratos_sort(nodes: list[Node], groups: tuple[str, ...], keys: list[str]) -> list[Node]:
    """Kratos' SortBySchema: by group, then (within a group, and across default/password) by the first key
    the node id starts with; `method` submits last; ties by value."""
    def bucket(node: Node) -> int:
        group = "default" if node["group"] == "password" else node["group"]
        return groups.index(group) if group in groups else len(groups)

    def position(node: Node) -> int:
        ident = node_id(node)
        if ident == "method":
            return len(nodes) + len(keys) + 1
        return next((i for i, key in enumerate(keys) if ident.startswith(key)), len(keys))

    return sorted(nodes, key=lambda n: (bucket(n), position(n), str(n["attributes"].get("value", ""))))


def sort_login(nodes: list[Node]) -> list[Node]:
    return _kratos_sort(nodes, _LOGIN_GROUPS, ["csrf_token", "identifier", "password"])


def sort_registration(nodes: list[Node], trait_order: list[str]) -> list[Node]:
    """Schema order, with the password right after the first trait (Kratos' PasswordLoginOrder)."""
    keys = ["csrf_token", *trait_order[:1], "password", *trait_order[1:]]
    return _kratos_sort(nodes, _REGISTRATION_GROUPS, keys)
