"""SMTP delivery with aiosmtplib: one connection per batch, STARTTLS or implicit TLS, optional AUTH.

Failures are classified the way the worker needs them: `permanent` (a 5xx answer about this message:
retrying cannot help, the message is abandoned, as Kratos does) and `connection` (the server is
unreachable or the session broke: every message still waiting in the batch fails with it).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any

import aiosmtplib

from gatekeeper.config.courier import CourierSmtp, SmtpEndpoint
from gatekeeper.config.problems import ConfigError, ConfigProblem
from gatekeeper.errors import UpstreamError
from gatekeeper.store.courier import CourierMessage

TIMEOUT = 10.0  # seconds per SMTP operation (Kratos' dialer timeout)


class DeliveryError(UpstreamError):
    """One failed attempt; never reaches a client, it is recorded as the dispatch's error."""

    def __init__(self, detail: str, *, permanent: bool = False, connection: bool = False,
                 code: int | None = None, reason: str = "failed to send email via smtp") -> None:
        super().__init__(reason=reason, details={"detail": detail})
        self.detail, self.permanent, self.connection, self.code = detail, permanent, connection, code

    def as_json(self) -> dict[str, Any]:
        """The dispatch `error` (Kratos stores its herodot error there)."""
        body: dict[str, Any] = {"code": 500, "status": "Internal Server Error", "reason": self.reason,
                                "message": self.detail}
        if self.code is not None:
            body["smtp_code"] = self.code
        return body


class SmtpTransport:
    """Sends outbox messages through the server named by `courier.smtp.connection_uri`."""

    def __init__(self, cfg: CourierSmtp, endpoint: SmtpEndpoint) -> None:
        self.cfg, self.endpoint = cfg, endpoint
        self._sender = formataddr((cfg.from_name, cfg.from_address)) if cfg.from_name else cfg.from_address
        self._domain = cfg.from_address.rpartition("@")[2] or "localhost"
        self._tls = _tls_context(cfg, endpoint) if endpoint.implicit_tls or endpoint.starttls else None

    def build(self, message: CourierMessage) -> EmailMessage:
        """The MIME message: plain text, plus the HTML alternative when there is one.

        Message-ID derives from the message id, so a retried delivery keeps its identity.
        """
        mail = EmailMessage()
        mail["From"] = self._sender
        mail["To"] = message.recipient
        mail["Subject"] = message.subject
        mail["Date"] = format_datetime(datetime.now(UTC))
        mail["Message-ID"] = f"<{message.id}@{self._domain}>"
        for name, value in self.cfg.headers.items():
            mail[name] = value
        mail.set_content(message.body)
        if message.body_html:
            mail.add_alternative(message.body_html, subtype="html")
        return mail

    @asynccontextmanager
    async def session(self) -> AsyncIterator[SmtpSession]:
        """A connected, secured and authenticated session; raises DeliveryError(connection=True)."""
        client = await self._connect()
        try:
            yield SmtpSession(self, client)
        finally:
            if client.is_connected:
                try:
                    await client.quit()
                except (aiosmtplib.SMTPException, OSError):
                    client.close()

    async def _connect(self) -> aiosmtplib.SMTP:
        ep = self.endpoint
        tls_name = ep.server_name or ep.host
        options: dict[str, Any] = {"local_hostname": self.cfg.local_name, "timeout": TIMEOUT,
                                   "start_tls": False, "use_tls": ep.implicit_tls, "tls_context": self._tls}
        try:
            if ep.implicit_tls and ep.server_name:  # the TLS name differs from the address dialled
                client = aiosmtplib.SMTP(hostname=tls_name, sock=await _dial(ep.host, ep.port), **options)
            else:
                client = aiosmtplib.SMTP(hostname=ep.host, port=ep.port, **options)
            await client.connect()
            if ep.starttls:
                await client.starttls(server_hostname=tls_name)
            if ep.username:
                await client.login(ep.username, ep.password.value if ep.password else "")
        except (aiosmtplib.SMTPException, OSError, ssl.SSLError) as exc:
            raise DeliveryError(f"{ep.address}: {_describe(exc)}", connection=True, code=_code(exc)) from None
        return client


class SmtpSession:
    def __init__(self, transport: SmtpTransport, client: aiosmtplib.SMTP) -> None:
        self._transport, self._client = transport, client

    async def send(self, message: CourierMessage) -> None:
        """Deliver one message; raises DeliveryError classified for retry."""
        try:
            mail = self._transport.build(message)
        except (ValueError, TypeError) as exc:  # a header the e-mail format cannot carry
            raise DeliveryError(f"cannot build the e-mail: {exc}", permanent=True) from None
        try:
            await self._client.send_message(mail)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            raise DeliveryError(_describe(exc), permanent=all(c >= 500 for c in codes),
                                code=max(codes, default=None)) from None
        except (aiosmtplib.SMTPSenderRefused, aiosmtplib.SMTPDataError) as exc:
            raise DeliveryError(_describe(exc), permanent=exc.code >= 500, code=exc.code) from None
        except aiosmtplib.SMTPNotSupported as exc:  # e.g. an internationalised address without SMTPUTF8
            raise DeliveryError(_describe(exc), permanent=True) from None
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError) as exc:
            raise DeliveryError(_describe(exc), connection=True, code=_code(exc)) from None
        except aiosmtplib.SMTPException as exc:
            raise DeliveryError(_describe(exc), code=_code(exc)) from None


def _tls_context(cfg: CourierSmtp, endpoint: SmtpEndpoint) -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if endpoint.skip_ssl_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if cfg.client_cert_path:
        try:
            context.load_cert_chain(cfg.client_cert_path, cfg.client_key_path)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError([ConfigProblem("<config>", None, "courier.smtp.client_cert_path",
                                             f"cannot load the client certificate: {exc}")]) from None
    return context


async def _dial(host: str, port: int) -> socket.socket:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    last: OSError = OSError(f"cannot resolve {host}")
    for family, kind, proto, _, address in infos:
        sock = socket.socket(family, kind, proto)
        sock.setblocking(False)
        try:
            await asyncio.wait_for(loop.sock_connect(sock, address), TIMEOUT)
            return sock
        except (OSError, TimeoutError) as exc:
            sock.close()
            last = exc if isinstance(exc, OSError) else OSError(f"no answer from {host}:{port}")
    raise last


def _code(exc: BaseException) -> int | None:
    return exc.code if isinstance(exc, aiosmtplib.SMTPResponseException) else None


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if isinstance(exc, aiosmtplib.SMTPException) else f"{type(exc).__name__}: {text}"
