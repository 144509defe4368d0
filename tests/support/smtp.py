"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, in the test's event loop (`start`) or in a thread of its
own (`threaded`, for synchronous tests), plus reading what gatekeeper's courier delivered.

It can offer STARTTLS (or require it), speak implicit TLS, require AUTH, refuse chosen recipients,
and be stopped and started again on the same port to play an outage.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import email
import email.policy
import ipaddress
import re
import socket
import ssl
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import _merge
from tests.identity.conftest import started
from tests.support.servers import Instance

# Fast worker timings so retries and leases play out in well under a second.
FAST_WORKER = {"pull_wait": "50ms", "retry_backoff": "50ms", "retry_backoff_max": "200ms", "claim_lease": "30s"}


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A throw-away certificate for localhost / 127.0.0.1; returns (cert.pem, key.pem)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def server_tls(cert: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*cert)
    return context


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    tls: bool
    login: str | None

    def part(self, content_type: str) -> str:
        found = self.message.get_body(preferencelist=(content_type.split("/")[1],))
        assert found is not None and found.get_content_type() == content_type, f"no {content_type} part"
        return str(found.get_content())


@dataclass
class SmtpSink:
    """Collects every message it accepts in `received`."""

    tls: ssl.SSLContext | None = None
    implicit_tls: bool = False
    require_starttls: bool = False
    credentials: tuple[str, str] | None = None
    refuse: dict[str, str] = field(default_factory=dict)  # recipient -> SMTP reply
    delay: float = 0.0  # seconds before answering DATA (a slow server)
    received: list[Received] = field(default_factory=list)
    port: int = 0
    _server: asyncio.AbstractServer | None = None
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> SmtpSink:
        """Listen on 127.0.0.1 (the same port again after a stop)."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        self._server = await asyncio.get_running_loop().create_server(
            self._protocol, sock=sock, ssl=self.tls if self.implicit_tls else None)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    @contextlib.contextmanager
    def threaded(self) -> Iterator[SmtpSink]:
        """Serve from a thread of its own (aiosmtpd's Controller) for tests without an event loop; plain SMTP."""
        controller = Controller(self, hostname="127.0.0.1", port=self.port or free_port())
        controller.start()
        self.port = controller.port
        try:
            yield self
        finally:
            controller.stop()

    def uri(self, scheme: str = "smtp", *, user: str = "", password: str = "", query: str = "") -> str:
        auth = f"{user}:{password}@" if user else ""
        return f"{scheme}://{auth}127.0.0.1:{self.port}/" + (f"?{query}" if query else "")

    async def wait_for(self, count: int, timeout: float = 15.0) -> list[Received]:
        """Block until `count` messages have arrived (fails after `timeout` seconds)."""
        async def arrived() -> None:
            while len(self.received) < count:
                self._arrived.clear()
                await self._arrived.wait()

        await asyncio.wait_for(arrived(), timeout)
        return self.received

    def _protocol(self) -> SMTP:
        options: dict[str, Any] = {"hostname": "sink.test", "ident": "gatekeeper test sink"}
        if self.tls is not None and not self.implicit_tls:
            options.update(tls_context=self.tls, require_starttls=self.require_starttls)
        if self.credentials is not None:
            options.update(authenticator=self._authenticate, auth_required=True,
                           auth_require_tls=not self.implicit_tls)
        return SMTP(self, **options)

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                      data: Any) -> AuthResult:
        if isinstance(data, LoginPassword) and self.credentials == (data.login.decode(), data.password.decode()):
            return AuthResult(success=True, auth_data=data.login.decode())
        return AuthResult(success=False, handled=False)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        await asyncio.sleep(self.delay)
        message = email.message_from_bytes(envelope.original_content or envelope.content or b"",
                                           policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        login = session.auth_data if session.authenticated else None
        self.received.append(Received(envelope.mail_from or "", list(envelope.rcpt_tos), message,
                                      tls=session.ssl is not None or self.implicit_tls, login=login))
        self._arrived.set()
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def mail_overrides(sink: SmtpSink, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Verification and recovery on (code method), mail to `sink`, and Kratos' quickstart registration hooks."""
    base: dict[str, Any] = {
        "courier": {"smtp": {"connection_uri": sink.uri(query="disable_starttls=true")}, "worker": FAST_WORKER},
        "selfservice": {"flows": {
            "verification": {"enabled": True},
            "recovery": {"enabled": True},
            "registration": {"after": {"password": {"hooks": [{"hook": "session"},
                                                               {"hook": "show_verification_ui"}]}}},
        }},
    }
    return _merge(base, extra or {})


def code_in(message: Received) -> str:
    found = re.search(r"\b(\d{6})\b", message.part("text/plain"))
    assert found, message.part("text/plain")
    return found.group(1)


def link_in(message: Received) -> str:
    found = re.search(r"(https?://\S+token=[\w-]+)", message.part("text/plain"))
    assert found, message.part("text/plain")
    return found.group(1)


async def mail_to(sink: SmtpSink, address: str, count: int = 1) -> list[Received]:
    """The first `count` messages to `address` (waits for them)."""
    while True:
        mine = [m for m in sink.received if address in m.rcpt_tos]
        if len(mine) >= count:
            return mine
        await sink.wait_for(len(sink.received) + 1)


@pytest.fixture
async def sink() -> AsyncIterator[SmtpSink]:
    """A plain SMTP server on 127.0.0.1 collecting what gatekeeper's courier delivers."""
    server = await SmtpSink().start()
    yield server
    await server.stop()


@contextlib.asynccontextmanager
async def mailing(dsn: str, sink: SmtpSink, extra: dict[str, Any] | None = None) -> AsyncIterator[Instance]:
    async with started(dsn, mail_overrides(sink, extra)) as gk:
        yield gk
