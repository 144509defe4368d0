"""Kratos' `courier` section: the SMTP connection, the delivery worker and template overrides.

Key names and defaults are Kratos'. gatekeeper adds three worker keys Kratos does not have
(`retry_backoff`, `retry_backoff_max`, `claim_lease`): Kratos retries on its next poll, we back off.
`check_courier` runs the checks that span keys (the URI, addresses, headers) with the other config checks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from gatekeeper.config.types import Duration, Secret

_TRUE = ("true", "1", "yes")
_HEADER_NAME = re.compile(r"^[!-9;-~]+$")  # RFC 5322 field name: printable ASCII except ':'


@dataclass(frozen=True)
class CourierSmtp:
    """`courier.smtp`: where and as whom e-mails are sent."""

    connection_uri: Secret | None = None
    client_cert_path: str = ""
    client_key_path: str = ""
    from_address: str = "no-reply@ory.kratos.sh"
    from_name: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    local_name: str = "localhost"


@dataclass(frozen=True)
class CourierWorker:
    """`courier.worker`: how often and how much the delivery worker pulls, and how it retries."""

    pull_count: int = 10
    pull_wait: Duration = Duration(1.0)
    retry_backoff: Duration = Duration(5.0)
    retry_backoff_max: Duration = Duration(600.0)
    claim_lease: Duration = Duration(60.0)


@dataclass(frozen=True)
class EmailTemplateBody:
    plaintext: str = ""
    html: str = ""


@dataclass(frozen=True)
class EmailTemplate:
    """Kratos' inline template: each part a `base64://`, `file://` or `http(s)://` URI (empty: the file or
    built-in one)."""

    subject: str = ""
    body: EmailTemplateBody = field(default_factory=EmailTemplateBody)


@dataclass(frozen=True)
class TemplateVariant:
    email: EmailTemplate = field(default_factory=EmailTemplate)
    sms: Mapping[str, Any] = field(default_factory=dict)  # `body`: a URI, as the e-mail parts (code templates)


@dataclass(frozen=True)
class TemplatePair:
    valid: TemplateVariant = field(default_factory=TemplateVariant)
    invalid: TemplateVariant = field(default_factory=TemplateVariant)


@dataclass(frozen=True)
class CourierTemplates:
    """`courier.templates.<name>.<valid|invalid>.email.{subject, body.html, body.plaintext}`."""

    recovery: TemplatePair = field(default_factory=TemplatePair)
    recovery_code: TemplatePair = field(default_factory=TemplatePair)
    verification: TemplatePair = field(default_factory=TemplatePair)
    verification_code: TemplatePair = field(default_factory=TemplatePair)
    login_code: TemplatePair = field(default_factory=TemplatePair)
    registration_code: TemplatePair = field(default_factory=TemplatePair)
    verifiable_address_changed: Mapping[str, Any] = field(default_factory=dict)  # accepted, not sent

    def uris(self) -> dict[str, str]:
        """`{"<name>.<valid|invalid>.email.<subject|body.html|body.plaintext>": uri}` for every part given."""
        found = {}
        for name in ("recovery", "recovery_code", "verification", "verification_code", "login_code",
                     "registration_code"):
            for validity in ("valid", "invalid"):
                email = getattr(getattr(getattr(self, name), validity), "email", None)
                if email is None:
                    continue
                for part, uri in (("subject", email.subject), ("body.html", email.body.html if email.body else ""),
                                  ("body.plaintext", email.body.plaintext if email.body else "")):
                    if uri:
                        found[f"{name}.{validity}.email.{part}"] = uri
                sms_body = (getattr(getattr(self, name), validity).sms or {}).get("body")
                if isinstance(sms_body, str) and sms_body and name.endswith("_code") and validity == "valid":
                    found[f"{name}.valid.sms.body"] = sms_body
        return found


@dataclass(frozen=True)
class ChannelRequest:
    """`courier.channels[].request_config`: Kratos' request config (as web hooks have)."""

    url: str = ""
    method: str = "POST"
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    auth: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CourierChannel:
    """`courier.channels[]`: a channel delivered by calling an HTTP API (`id: sms` for text messages)."""

    id: str
    type: Literal["http"] = "http"
    request_config: ChannelRequest = field(default_factory=ChannelRequest)


@dataclass(frozen=True)
class Courier:
    """`courier`: e-mail (SMTP) and SMS (an HTTP channel) delivery through an outbox in the store."""

    smtp: CourierSmtp = field(default_factory=CourierSmtp)
    message_retries: int = 5
    template_override_path: str = ""
    templates: CourierTemplates = field(default_factory=CourierTemplates)
    delivery_strategy: Literal["smtp"] = "smtp"
    worker: CourierWorker = field(default_factory=CourierWorker)
    channels: tuple[CourierChannel, ...] = ()


@dataclass(frozen=True)
class SmtpEndpoint:
    """A parsed `courier.smtp.connection_uri` (Kratos' semantics).

    `smtp://` requires STARTTLS unless `?disable_starttls=true`; `smtps://` is implicit TLS;
    `?skip_ssl_verify=true` accepts any certificate; `?server_name=` overrides the name checked in it.
    """

    host: str
    port: int
    implicit_tls: bool
    starttls: bool
    skip_ssl_verify: bool
    server_name: str
    username: str = ""
    password: Secret | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def parse_smtp_uri(uri: str) -> SmtpEndpoint:
    """Parse a connection URI; raises ValueError naming the problem (never echoing the password)."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        raise ValueError("is not a valid URI such as smtps://user:password@mail.example.com:465/") from None
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError("must start with smtp:// (STARTTLS) or smtps:// (implicit TLS)")
    if not parts.hostname:
        raise ValueError("has no host")
    query = {k: v.lower() for k, v in parse_qsl(parts.query)}
    implicit = parts.scheme == "smtps"
    return SmtpEndpoint(
        host=parts.hostname,
        port=port or (465 if implicit else 25),
        implicit_tls=implicit,
        starttls=not implicit and query.get("disable_starttls", "false") not in _TRUE,
        skip_ssl_verify=query.get("skip_ssl_verify", "false") in _TRUE,
        server_name=dict(parse_qsl(parts.query)).get("server_name", ""),
        username=unquote(parts.username or ""),
        password=Secret(unquote(parts.password)) if parts.password else None,
    )


def check_courier(courier: Courier, add: Callable[[str, str], None]) -> None:
    """Report every problem of the section through `add(path, message)`.

    A key that failed its type check is None here and is skipped (it has been reported).
    """
    smtp = courier.smtp
    if smtp.connection_uri is not None and smtp.connection_uri.value:
        try:
            parse_smtp_uri(smtp.connection_uri.value)
        except ValueError as exc:
            add("courier.smtp.connection_uri", str(exc))
    if smtp.from_address is not None and not _is_address(smtp.from_address):
        add("courier.smtp.from_address", f"expected an e-mail address, got {smtp.from_address!r}")
    for key in ("from_name", "local_name"):
        if _has_newline(getattr(smtp, key)):
            add(f"courier.smtp.{key}", "must be a single line")
    if bool(smtp.client_cert_path) != bool(smtp.client_key_path):
        add("courier.smtp.client_cert_path", "client_cert_path and client_key_path go together")
    _check_headers(smtp.headers or {}, add)
    if courier.template_override_path and not Path(courier.template_override_path).is_dir():
        add("courier.template_override_path", f"{courier.template_override_path} is not a directory")
    for key, uri in (courier.templates.uris().items() if courier.templates else ()):
        if not uri.startswith(("file://", "base64://", "http://", "https://")):
            add(f"courier.templates.{key}", "expected a base64://, file://, http:// or https:// URI")
    if courier.message_retries is not None and courier.message_retries < 0:
        add("courier.message_retries", f"must be 0 or more, got {courier.message_retries}")
    worker = courier.worker
    if worker.pull_count is not None and worker.pull_count < 1:
        add("courier.worker.pull_count", f"must be 1 or more, got {worker.pull_count}")
    for key in ("pull_wait", "retry_backoff", "claim_lease"):
        value = getattr(worker, key)
        if value is not None and value <= 0:
            add(f"courier.worker.{key}", "must be longer than 0s")
    if None not in (worker.retry_backoff, worker.retry_backoff_max) and worker.retry_backoff_max < worker.retry_backoff:
        add("courier.worker.retry_backoff_max", "must not be shorter than courier.worker.retry_backoff")
    _check_channels(courier.channels or (), add)


def _check_channels(channels: tuple[CourierChannel, ...], add: Callable[[str, str], None]) -> None:
    seen: set[str] = set()
    for i, channel in enumerate(channels):
        at = f"courier.channels.{i}"
        if channel.id != "sms":
            add(f"{at}.id", f"expected sms (e-mail goes through courier.smtp), got {channel.id!r}")
        elif channel.id in seen:
            add(f"{at}.id", "the sms channel is configured twice")
        seen.add(channel.id)
        request = channel.request_config
        if request is None:
            continue
        if not (request.url or "").startswith(("http://", "https://")):
            add(f"{at}.request_config.url", f"expected an http:// or https:// URL, got {request.url!r}")
        if not (request.body or "").startswith(("file://", "base64://")):
            add(f"{at}.request_config.body", "expected the request body's Jsonnet template as a file:// or "
                                             "base64:// URI")
        auth_type = (request.auth or {}).get("type")
        if auth_type not in (None, "", "basic_auth", "api_key"):
            add(f"{at}.request_config.auth.type", f"expected basic_auth or api_key, got {auth_type!r}")


def _check_headers(headers: Mapping[str, str], add: Callable[[str, str], None]) -> None:
    for name, value in headers.items():
        if value is None:
            continue
        if not _HEADER_NAME.match(name):
            add(f"courier.smtp.headers.{name}", "is not a valid e-mail header name")
        elif name.lower() in ("from", "to", "subject", "content-type", "content-transfer-encoding", "mime-version"):
            add(f"courier.smtp.headers.{name}", "is set by the courier and cannot be overridden")
        elif _has_newline(value):
            add(f"courier.smtp.headers.{name}", "must be a single line")


def _is_address(value: str) -> bool:
    name, address = parseaddr(value)
    return not name and address == value and "@" in value and not _has_newline(value)


def _has_newline(value: str | None) -> bool:
    return value is not None and ("\r" in value or "\n" in value)

