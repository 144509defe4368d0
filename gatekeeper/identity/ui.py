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


_LOGIN_GROUPS = ("oidc", "default", "webauthn", "passkey", "code", "password", "totp", "lookup_secret")
_REGISTRATION_GROUPS = ("oidc", "saml", "default", "webauthn", "passkey", "code", "password", "captcha",
                        "profile")
_LOGIN_NAMES = {"csrf_token": 0, "identifier": 1, "password": 2}


def sort_login(nodes: list[Node]) -> list[Node]:
    """Kratos' login order: by group, then csrf_token, identifier, password, then the rest in place."""
    def key(item: tuple[int, Node]) -> tuple[int, int, int]:
        i, node = item
        group = _LOGIN_GROUPS.index(node["group"]) if node["group"] in _LOGIN_GROUPS else len(_LOGIN_GROUPS)
        return group, _LOGIN_NAMES.get(node_id(node), 3), i
    return [n for _, n in sorted(enumerate(nodes), key=key)]


def sort_registration(nodes: list[Node], trait_order: list[str]) -> list[Node]:
    """Kratos' registration order: csrf first, traits in schema order, then by group, submits last."""
    def key(item: tuple[int, Node]) -> tuple[int, int, int, int]:
        i, node = item
        name = node_id(node)
        group = node["group"]
        g = _REGISTRATION_GROUPS.index(group) if group in _REGISTRATION_GROUPS else len(_REGISTRATION_GROUPS)
        if name == "csrf_token":
            return 0, 0, 0, i
        if name in trait_order:
            return 1, trait_order.index(name), 0, i
        is_submit = node["type"] == "input" and node["attributes"]["type"] == "submit"
        return 2, g, int(is_submit), i
    return [n for _, n in sorted(enumerate(nodes), key=key)]
