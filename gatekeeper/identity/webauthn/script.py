"""The browser script behind `/.well-known/ory/webauthn.js` and the `webauthn_script` node that loads it."""

from __future__ import annotations

import base64
import hashlib
import uuid
from functools import cache
from importlib.resources import files

from gatekeeper.identity.ui import Group, Node

PATH = "/.well-known/ory/webauthn.js"


@cache
def source() -> bytes:
    """The script's bytes (read once, on first use)."""
    return files(__package__).joinpath("webauthn.js").read_bytes()


@cache
def integrity() -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(source()).digest()).decode()


def script_node(public_base_url: str) -> Node:
    """Kratos' `webauthn_script` node (group webauthn), with subresource integrity and a fresh nonce."""
    return {"type": "script", "group": str(Group.WEBAUTHN), "messages": [], "meta": {},
            "attributes": {"src": public_base_url.rstrip("/") + PATH, "async": True,
                           "referrerpolicy": "no-referrer", "crossorigin": "anonymous", "integrity": integrity(),
                           "type": "text/javascript", "id": "webauthn_script", "nonce": str(uuid.uuid4()),
                           "node_type": "script"}}
