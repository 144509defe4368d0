"""`serve.proxy.upstream.tls`: https:// and wss:// upstreams on 127.0.0.1 with a CA and certificates made here."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

import pytest
import websockets
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gatekeeper.config import ConfigError, parse_config
from gatekeeper.config.serve import ProxyUpstream, UpstreamTls
from tests.proxy.rawnet import RawRequest, ask, gateway, keep_answering, raw_upstream


@dataclass
class Pki:
    ca: Path
    other_ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _issue(subject: str, key: ec.EllipticCurvePrivateKey, issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
           *, ca: bool = False, usage: x509.ObjectIdentifier | None = None) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    issuer_name, issuer_key = issuer or (_name(subject), key)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(issuer_name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        if usage == ExtendedKeyUsageOID.SERVER_AUTH:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey | None = None) -> Path:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        path.with_suffix(".key").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A CA, a server certificate for 127.0.0.1 and a client certificate it signed; and an unrelated CA."""
    out = tmp_path_factory.mktemp("pki")
    ca_key, other_key, server_key, client_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(4))
    ca = _issue("test CA", ca_key, None, ca=True)
    issuer = (ca.subject, ca_key)
    _write(out / "server.pem", _issue("127.0.0.1", server_key, issuer, usage=ExtendedKeyUsageOID.SERVER_AUTH),
           server_key)
    _write(out / "client.pem", _issue("gatekeeper", client_key, issuer, usage=ExtendedKeyUsageOID.CLIENT_AUTH),
           client_key)
    return Pki(ca=_write(out / "ca.pem", ca), other_ca=_write(out / "other-ca.pem", _issue("other", other_key, None,
                                                                                            ca=True)),
               server_cert=out / "server.pem", server_key=out / "server.key",
               client_cert=out / "client.pem", client_key=out / "client.key")


def server_context(pki: Pki, *, require_client_cert: bool = False) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    if require_client_cert:
        context.load_verify_locations(pki.ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def hello(request: RawRequest) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"


@pytest.mark.parametrize(("trust", "expected"), [("ca", 200), ("other_ca", 502), ("system", 502)])
async def test_an_https_upstream_is_trusted_only_through_the_configured_ca(
        tmp_path: Path, pki: Pki, trust: str, expected: int) -> None:
    tls = UpstreamTls() if trust == "system" else UpstreamTls(ca_file=str(getattr(pki, trust)))
    async with raw_upstream(keep_answering(hello), tls=server_context(pki)) as upstream, \
            gateway(tmp_path, upstream.url, ProxyUpstream(tls=tls)) as proxy:
        answer = await ask(proxy, "GET", "/tls")
        assert answer.status == expected, answer
        assert answer.body == b"hello" if expected == 200 else answer.error_code == 502


@pytest.mark.parametrize("present", [True, False])
async def test_an_upstream_that_requires_a_client_certificate_gets_the_configured_one(
        tmp_path: Path, pki: Pki, present: bool) -> None:
    tls = UpstreamTls(ca_file=str(pki.ca), cert_file=str(pki.client_cert) if present else "",
                      key_file=str(pki.client_key) if present else "")
    async with raw_upstream(keep_answering(hello), tls=server_context(pki, require_client_cert=True)) as upstream, \
            gateway(tmp_path, upstream.url, ProxyUpstream(tls=tls)) as proxy:
        answer = await ask(proxy, "GET", "/mtls")
        assert (answer.status, answer.body if present else answer.error_code) == ((200, b"hello") if present else
                                                                                  (502, 502))


async def test_wss_upstreams_use_the_same_trust_and_client_certificate(tmp_path: Path, pki: Pki) -> None:
    async def echo(ws: websockets.ServerConnection) -> None:
        async for message in ws:
            await ws.send(f"echo:{message}")

    tls = UpstreamTls(ca_file=str(pki.ca), cert_file=str(pki.client_cert), key_file=str(pki.client_key))
    async with websockets.serve(echo, "127.0.0.1", 0, ssl=server_context(pki, require_client_cert=True)) as server:
        port = server.sockets[0].getsockname()[1]
        async with gateway(tmp_path, f"https://127.0.0.1:{port}", ProxyUpstream(tls=tls)) as proxy:
            async with websockets.connect(proxy.replace("http://", "ws://") + "/ws") as ws:
                await ws.send("over tls")
                assert await ws.recv() == "echo:over tls"
        async with gateway(tmp_path, f"https://127.0.0.1:{port}", ProxyUpstream()) as proxy:
            with pytest.raises(websockets.InvalidStatus):  # the system's CAs do not know this one
                async with websockets.connect(proxy.replace("http://", "ws://") + "/ws"):
                    pass


def test_tls_files_are_checked_with_the_config(tmp_path: Path, pki: Pki) -> None:
    def problems(tls: str) -> str:
        with pytest.raises(ConfigError) as bad:
            parse_config(f"serve: {{proxy: {{upstream: {{tls: {tls}}}}}}}", name="t.yaml", env={}, dev=True)
        return str(bad.value)

    assert "serve.proxy.upstream.tls.cert_file: cert_file and key_file go together" in problems(
        f"{{cert_file: {pki.client_cert}}}")
    assert "serve.proxy.upstream.tls.ca_file: cannot load" in problems(f"{{ca_file: {tmp_path}/missing.pem}}")
    assert "serve.proxy.upstream.tls.cert_file: cannot load" in problems(
        f"{{cert_file: {pki.client_cert}, key_file: {pki.server_key}}}")  # a key that is not the certificate's
    good = f"serve: {{proxy: {{upstream: {{tls: {{ca_file: {pki.ca}, cert_file: {pki.client_cert}, " \
           f"key_file: {pki.client_key}}}}}}}}}"
    assert parse_config(good, name="t.yaml", env={}, dev=True).serve.proxy.upstream.tls.ca_file == str(pki.ca)
