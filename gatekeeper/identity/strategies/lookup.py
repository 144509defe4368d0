"""The lookup_secret method (Kratos' `lookup_secret`): 12 single-use backup codes as a second factor.

Settings: regenerate (new codes shown once, kept in the flow until confirmed), confirm (stored), reveal (which
codes are left and when the others were used) and disable. Codes are stored only as salted HMAC-SHA256
digests (`credentials.lookup_secret.config.recovery_codes[].hash`, with `used_at`), so reveal cannot show
the code text again; Kratos-format plain entries (`code`) from an import are still accepted at login.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from gatekeeper.identity import text_settings as msg
from gatekeeper.identity.flows.base import Flow, NotResponsible, ValidationFailed
from gatekeeper.identity.identities import rfc3339
from gatekeeper.identity.strategies.common import attach, text_field
from gatekeeper.identity.strategies.totp import text_node
from gatekeeper.identity.ui import Group, input_node, submit_node
from gatekeeper.store.identities import CredentialRecord, IdentityRecord

if TYPE_CHECKING:
    from gatekeeper.identity.context import IdentityContext

CODES = 12
_ALPHABET = string.ascii_lowercase + string.digits
_ACTIONS = ("lookup_secret_reveal", "lookup_secret_regenerate", "lookup_secret_confirm", "lookup_secret_disable")


def new_codes() -> list[str]:
    return ["".join(secrets.choice(_ALPHABET) for _ in range(8)) for _ in range(CODES)]


def digest(salt: str, code: str) -> str:
    return hmac.new(salt.encode(), code.encode(), hashlib.sha256).hexdigest()


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


class LookupStrategy:
    id: ClassVar[str] = "lookup_secret"
    group: ClassVar[Group] = Group.LOOKUP_SECRET

    def __init__(self, ctx: IdentityContext) -> None:
        self.ctx = ctx

    # -- settings --------------------------------------------------------------------------------------

    def populate_settings(self, flow: Flow, ident: IdentityRecord, *, reveal: bool = False) -> None:
        g = Group.LOOKUP_SECRET
        pending = flow.internal.get("lookup_codes")
        cred = ident.credentials.get("lookup_secret")
        if pending:
            items = [msg.lookup_secret(c) for c in pending]
            flow.nodes.append(text_node("lookup_secret_codes", msg.lookup_list(pending, items), g, msg.lookup_label()))
            flow.nodes.append(submit_node("lookup_secret_confirm", "true", g, msg.lookup_confirm()))
            return
        if cred is None:
            flow.nodes.append(submit_node("lookup_secret_regenerate", "true", g, msg.lookup_regenerate()))
            return
        if reveal:
            items, shown = [], []
            for entry in (cred.config or {}).get("recovery_codes", []):
                used = entry.get("used_at")
                if used:
                    when = datetime.fromisoformat(str(used).replace("Z", "+00:00"))
                    items.append(msg.lookup_used(str(used), int(when.timestamp())))
                    shown.append("used")
                else:
                    hidden = "\u2022" * 8  # stored hashed: the code cannot be shown again
                    items.append(msg.lookup_secret(hidden))
                    shown.append(hidden)
            flow.nodes.append(text_node("lookup_secret_codes", msg.lookup_list(shown, items), g, msg.lookup_label()))
        else:
            flow.nodes.append(submit_node("lookup_secret_reveal", "true", g, msg.lookup_reveal()))
        flow.nodes.append(submit_node("lookup_secret_regenerate", "true", g, msg.lookup_regenerate()))
        flow.nodes.append(submit_node("lookup_secret_disable", "true", g, msg.lookup_disable()))

    def claims(self, body: dict[str, Any]) -> bool:
        return body.get("method") == self.id or any(_truthy(body.get(a)) for a in _ACTIONS)

    def needs_privilege(self, body: dict[str, Any], ident: IdentityRecord) -> bool:
        return True

    async def settings(self, flow: Flow, body: dict[str, Any], ident: IdentityRecord) -> bool:
        """One of the four actions; True when stored credentials changed (False: the form just moved on)."""
        action = next((a for a in _ACTIONS if _truthy(body.get(a))), None)
        cred = ident.credentials.get("lookup_secret")
        now = datetime.now(UTC)
        if action == "lookup_secret_regenerate":
            flow.internal["lookup_codes"] = new_codes()
            return False
        if action == "lookup_secret_confirm":
            pending = flow.internal.pop("lookup_codes", None)
            if not pending:
                flow.add_message(msg.lookup_missing())
                raise ValidationFailed()
            salt = secrets.token_hex(16)
            config = {"salt": salt, "recovery_codes": [{"hash": digest(salt, c), "used_at": None} for c in pending]}
            new = CredentialRecord(id=str(uuid.uuid4()), type="lookup_secret", identifiers=[ident.id],
                                   config=config, created_at=now, updated_at=now)
            await self.ctx.store.put_credential(ident.id, new)
            ident.credentials["lookup_secret"] = new
            return True
        if cred is None:
            flow.add_message(msg.lookup_missing())
            raise ValidationFailed()
        if action == "lookup_secret_disable":
            await self.ctx.store.delete_credential(ident.id, "lookup_secret")
            del ident.credentials["lookup_secret"]
            flow.internal.pop("lookup_codes", None)
            return True
        flow.internal["lookup_reveal"] = True  # reveal (or method=lookup_secret alone): show what is left
        return False

    # -- login (second factor) -------------------------------------------------------------------------

    def populate_login(self, flow: Flow, ident: IdentityRecord) -> None:
        if "lookup_secret" not in ident.credentials:
            return
        flow.nodes.append(input_node("lookup_secret", Group.LOOKUP_SECRET, value="", required=True,
                                     label=msg.login_lookup_label()))
        flow.nodes.append(submit_node("method", "lookup_secret", Group.LOOKUP_SECRET, msg.login_lookup_button()))

    async def login_second(self, flow: Flow, body: dict[str, Any], ident: IdentityRecord) -> IdentityRecord:
        if body.get("method") != self.id:
            raise NotResponsible()
        cred = ident.credentials.get("lookup_secret")
        if cred is None:
            flow.add_message(msg.lookup_missing())
            raise ValidationFailed()
        t = self.ctx.config.selfservice.flows.login.throttling
        await self.ctx.throttle(f"login:lookup:{ident.id}", t.per_identifier, float(t.window))
        code = (text_field(body, "lookup_secret") or "").strip().lower()[:64]
        config = dict(cred.config or {})
        salt = str(config.get("salt", ""))
        entries = [dict(e) for e in config.get("recovery_codes", [])]
        for entry in entries:
            stored = entry.get("hash")
            match = (hmac.compare_digest(str(stored), digest(salt, code)) if stored is not None
                     else hmac.compare_digest(str(entry.get("code", "")).encode(), code.encode()))
            if not match or not code:
                continue
            if entry.get("used_at"):
                attach(flow, "lookup_secret", msg.lookup_already_used())
                raise ValidationFailed()
            entry["used_at"] = rfc3339(datetime.now(UTC))
            new = {**config, "recovery_codes": entries}
            if not await self.ctx.store.swap_credential_config(ident.id, "lookup_secret", cred.config, new,
                                                               datetime.now(UTC)):
                attach(flow, "lookup_secret", msg.lookup_already_used())  # used by a racing request
                raise ValidationFailed()
            return ident
        attach(flow, "lookup_secret", msg.lookup_invalid())
        raise ValidationFailed()
