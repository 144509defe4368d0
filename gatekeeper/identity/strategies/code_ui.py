"""The nodes of the `code` method's "code sent" screen, shared by sign-in and sign-up (Kratos' node.go)."""

from __future__ import annotations

from typing import Any

from gatekeeper.identity import text
from gatekeeper.identity.flows.base import Flow
from gatekeeper.identity.ui import Group, Node, input_node, submit_node


def code_input(label: dict[str, Any]) -> Node:
    """The code field: required, and hinting browsers to fill it from the message (Web OTP)."""
    node = input_node("code", Group.CODE, type="text", required=True, label=label)
    node["attributes"]["autocomplete"] = "one-time-code"
    return node


def sent_nodes(label: dict[str, Any]) -> list[Node]:
    """Hidden `method=code`, the code field, the submit and the resend button, in Kratos' order."""
    return [input_node("method", Group.CODE, type="hidden", value="code"), code_input(label),
            submit_node("method", "code", Group.CODE, text.continue_button()),
            submit_node("resend", "code", Group.CODE, text.resend_code_button())]


def kept_csrf(flow: Flow) -> list[Node]:
    """The CSRF node, for browser flows only: Kratos' "code sent" screen of an API flow has none."""
    return [n for n in flow.nodes if n["attributes"].get("name") == "csrf_token"] if flow.is_browser else []


def wants_new_code(flow_state: Any, body: dict[str, Any]) -> bool:
    """Kratos' SetDefaultFlowState: a code is sent from `choose_method`, or again on `resend=code`."""
    return flow_state != "sent_email" or str(body.get("resend", "")).lower() == "code"
