"""A software WebAuthn authenticator on fido2's data structures: it answers the options gatekeeper puts in a
flow the way a browser's `navigator.credentials` would, as the JSON Kratos' webauthn.js posts (base64url)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fido2.cose import ES256
from fido2.webauthn import AttestationObject, AttestedCredentialData, AuthenticatorData, CollectedClientData

FLAGS = AuthenticatorData.FLAG


def b64url(value: bytes) -> str:
    return base64.urlsafe_b64encode(value).rstrip(b"=").decode()


def unb64url(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


@dataclass
class Passkey:
    """One credential the authenticator holds."""

    id: bytes
    key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    counter: int = 0


@dataclass
class SoftAuthenticator:
    """`origin` is what the browser would put in clientDataJSON; `rp_id` overrides the options' RP ID (to play
    a phishing page); `uv`: user verification performed."""

    origin: str
    rp_id: str | None = None
    uv: bool = True
    credentials: list[Passkey] = field(default_factory=list)

    def create(self, options: dict[str, Any]) -> str:
        """Answer creation options (`{"publicKey": ...}`) with a new ES256 credential, attestation none."""
        pk = options["publicKey"]
        rp_id = self.rp_id or pk["rp"]["id"]
        key = ec.generate_private_key(ec.SECP256R1())
        cred = Passkey(id=os.urandom(32), key=key, rp_id=rp_id, user_handle=unb64url(pk["user"]["id"]))
        self.credentials.append(cred)
        attested = AttestedCredentialData.create(b"\0" * 16, cred.id, ES256.from_cryptography_key(key.public_key()))
        auth_data = AuthenticatorData.create(self._rp_hash(rp_id), self._flags() | FLAGS.AT, 0, attested)
        client_data = CollectedClientData.create("webauthn.create", unb64url(pk["challenge"]), self.origin)
        attestation = AttestationObject.create("none", auth_data, {})
        return json.dumps({"id": b64url(cred.id), "rawId": b64url(cred.id), "type": "public-key", "response": {
            "attestationObject": b64url(bytes(attestation)), "clientDataJSON": b64url(bytes(client_data))}})

    def get(self, options: dict[str, Any], credential: Passkey | None = None, *, counter: int | None = None,
            tamper: bool = False) -> str:
        """Answer request options with `credential` (default: the first one for the RP); `counter` forces the
        signature counter; `tamper` flips a bit of the signature."""
        pk = options["publicKey"]
        rp_id = self.rp_id or pk["rpId"]
        cred = credential or next(c for c in self.credentials if c.rp_id == (pk["rpId"]))
        cred.counter = cred.counter + 1 if counter is None else counter
        auth_data = bytes(AuthenticatorData.create(self._rp_hash(rp_id), self._flags(), cred.counter))
        client_data = bytes(CollectedClientData.create("webauthn.get", unb64url(pk["challenge"]), self.origin))
        signature = cred.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        if tamper:
            signature = signature[:-1] + bytes([signature[-1] ^ 1])
        return json.dumps({"id": b64url(cred.id), "rawId": b64url(cred.id), "type": "public-key", "response": {
            "authenticatorData": b64url(auth_data), "clientDataJSON": b64url(client_data),
            "signature": b64url(signature), "userHandle": b64url(cred.user_handle)}})

    def _flags(self) -> AuthenticatorData.FLAG:
        return FLAGS.UP | FLAGS.UV if self.uv else FLAGS.UP

    @staticmethod
    def _rp_hash(rp_id: str) -> bytes:
        return hashlib.sha256(rp_id.encode()).digest()
