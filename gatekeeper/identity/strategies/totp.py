"""The totp method (Kratos' `totp`): link an authenticator app in settings, use it as a second factor at login.

Setup keeps the pending secret in the flow's internal context and shows it as a QR code (PNG data URI made
locally with segno) and as text; a correct code links it (`credentials.totp.config.totp_url`). Codes are
checked with pyotp (6 digits, 30 s, SHA-1 by default; +-1 step of clock skew). The last accepted time step is
stored with the credential (compare-and-set), so a code cannot be used twice within its window.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

import pyotp
import segno

from gatekeeper.identity import text_settings as msg
from gatekeeper.identity.flows.base import Flow, NotResponsible, ValidationFailed
from gatekeeper.identity.strategies.common import attach, text_field
from gatekeeper.identity.ui import Group, Node, input_node, submit_node
from gatekeeper.store.identities import CredentialRecord, IdentityRecord

if TYPE_CHECKING:
    from gatekeeper.identity.context import IdentityContext



def qr_data_uri(url: str) -> str:
    """A 256x256-ish PNG of the otpauth URL as a data URI (no network, no external service)."""
    qr = segno.make(url, error="m")
    scale = max(1, 256 // qr.symbol_size(border=2)[0])
    return str(qr.png_data_uri(scale=scale, border=2))


def img_node(node_id: str, src: str, group: Group, label: dict[str, Any]) -> Node:
    return {"type": "img", "group": str(group), "messages": [], "meta": {"label": label},
            "attributes": {"id": node_id, "src": src, "width": 256, "height": 256, "node_type": "img"}}


def text_node(node_id: str, content: dict[str, Any], group: Group, label: dict[str, Any]) -> Node:
    return {"type": "text", "group": str(group), "messages": [], "meta": {"label": label},
            "attributes": {"id": node_id, "text": content, "node_type": "text"}}


class TotpStrategy:
    id: ClassVar[str] = "totp"
    group: ClassVar[Group] = Group.TOTP

    def __init__(self, ctx: IdentityContext) -> None:
        self.ctx = ctx
        cfg = dict(ctx.config.selfservice.methods.totp.config)
        self.issuer = str(cfg.get("issuer") or urlsplit(ctx.public_base_url).hostname or "gatekeeper")
        self.digits = 6
        self.interval = 30
        self.digest = hashlib.sha1  # Kratos' default (authenticator apps expect it)

    # -- codes -----------------------------------------------------------------------------------------

    def _totp(self, secret: str) -> pyotp.TOTP:
        return pyotp.TOTP(secret, digits=self.digits, interval=self.interval, digest=self.digest,
                          issuer=self.issuer)

    def matching_step(self, totp: pyotp.TOTP, code: str, now: float | None = None) -> int | None:
        """The time step (-1, 0, +1 around now) whose code is `code`; None when none matches.

        ASCII digits only: str.isdigit() also accepts other scripts' digits (Arabic-Indic, full-width,
        superscripts), which are not a code, and hmac.compare_digest raises TypeError on non-ASCII str."""
        if len(code) != totp.digits or not (code.isascii() and code.isdigit()):
            return None
        current = int((now or time.time()) // totp.interval)
        for step in (current - 1, current, current + 1):
            if hmac.compare_digest(totp.generate_otp(step).encode(), code.encode()):
                return step
        return None

    @staticmethod
    def from_url(url: str) -> pyotp.TOTP:
        parsed = pyotp.parse_uri(url)
        if not isinstance(parsed, pyotp.TOTP):
            raise ValueError("not a TOTP URL")
        return parsed

    def account_name(self, ident: IdentityRecord) -> str:
        schema = self.ctx.schemas.get(ident.schema_id) or self.ctx.schemas.default
        for f in schema.fields:
            if f.totp_account_name:
                node: Any = ident.traits
                for key in f.path:
                    node = node.get(key) if isinstance(node, dict) else None
                if isinstance(node, str) and node:
                    return node
        return ident.id

    # -- settings --------------------------------------------------------------------------------------

    def populate_settings(self, flow: Flow, ident: IdentityRecord) -> None:
        linked = bool((ident.credentials.get("totp") and ident.credentials["totp"].config or {}).get("totp_url"))
        if linked:
            flow.nodes.append(input_node("totp_unlink", Group.TOTP, type="submit", value="true", required=True,
                                         label=msg.totp_unlink()))
            flow.internal.pop("totp_url", None)
            return
        url = flow.internal.get("totp_url")
        if not url:
            secret = pyotp.random_base32(32)  # 20 bytes, as Kratos
            url = self._totp(secret).provisioning_uri(name=self.account_name(ident), issuer_name=self.issuer)
            flow.internal["totp_url"] = url
        secret = self.from_url(url).secret
        # Kratos' order: the secret, the QR code, the code input, the submit
        flow.nodes.append(text_node("totp_secret_key", msg.totp_secret(secret), Group.TOTP, msg.totp_secret_label()))
        flow.nodes.append(img_node("totp_qr", qr_data_uri(url), Group.TOTP, msg.totp_qr()))
        flow.nodes.append(input_node("totp_code", Group.TOTP, required=True, label=msg.verify_code_label()))
        flow.nodes.append(submit_node("method", "totp", Group.TOTP, msg.save_button()))

    def claims(self, body: dict[str, Any]) -> bool:
        return body.get("method") == self.id or str(body.get("totp_unlink", "")).lower() == "true"

    def needs_privilege(self, body: dict[str, Any], ident: IdentityRecord) -> bool:
        return True

    async def settings(self, flow: Flow, body: dict[str, Any], ident: IdentityRecord) -> bool:
        """Link (method=totp + totp_code) or unlink (totp_unlink=true); True when something changed."""
        unlink = str(body.get("totp_unlink", "")).lower() == "true"
        now = datetime.now(UTC)
        if unlink:
            if "totp" not in ident.credentials:
                flow.add_message(msg.totp_missing())
                raise ValidationFailed()
            await self.ctx.store.delete_credential(ident.id, "totp")
            del ident.credentials["totp"]
            return True
        url = flow.internal.get("totp_url")
        code = (text_field(body, "totp_code") or "").strip()
        if not url:
            flow.add_message(msg.totp_invalid())  # already linked: nothing pending to confirm
            raise ValidationFailed()
        totp = self.from_url(url)
        step = self.matching_step(totp, code)
        if step is None:
            attach(flow, "totp_code", msg.totp_invalid())
            raise ValidationFailed()
        cred = CredentialRecord(id=str(uuid.uuid4()), type="totp", identifiers=[ident.id],
                                config={"totp_url": url, "last_step": step}, created_at=now, updated_at=now)
        await self.ctx.store.put_credential(ident.id, cred)
        ident.credentials["totp"] = cred
        flow.internal.pop("totp_url", None)
        return True

    # -- login (second factor) -------------------------------------------------------------------------

    def populate_login(self, flow: Flow, ident: IdentityRecord) -> None:
        cred = ident.credentials.get("totp")
        if cred is None or not (cred.config or {}).get("totp_url"):
            return
        flow.nodes.append(input_node("totp_code", Group.TOTP, value="", required=True, label=msg.login_totp_label()))
        flow.nodes.append(submit_node("method", "totp", Group.TOTP, msg.login_totp_button()))

    async def login_second(self, flow: Flow, body: dict[str, Any], ident: IdentityRecord) -> IdentityRecord:
        if body.get("method") != self.id:
            raise NotResponsible()
        cred = ident.credentials.get("totp")
        config = dict(cred.config) if cred is not None else {}
        if not config.get("totp_url"):
            flow.add_message(msg.totp_missing())
            raise ValidationFailed()
        code = (text_field(body, "totp_code") or "").strip()
        t = self.ctx.config.selfservice.flows.login.throttling
        await self.ctx.throttle(f"login:totp:{ident.id}", t.per_identifier, float(t.window))
        step = self.matching_step(self.from_url(config["totp_url"]), code)
        last = config.get("last_step")
        if step is None or (isinstance(last, int) and step <= last):
            attach(flow, "totp_code", msg.totp_invalid())
            raise ValidationFailed()
        new = {**config, "last_step": step}
        if not await self.ctx.store.swap_credential_config(ident.id, "totp", config, new, datetime.now(UTC)):
            attach(flow, "totp_code", msg.totp_invalid())  # the same code won a race a moment ago
            raise ValidationFailed()
        return ident
