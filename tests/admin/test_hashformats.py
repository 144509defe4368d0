"""Import hash formats built by hand from Kratos' documented layouts (hash/hash_comparator.go), so a misread
layout in hashformats.make cannot hide one in hashformats.verify."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from gatekeeper.identity import hashformats

PW = b"correct horse"
SALT = b"NaCl-salt-16byte"


def b64(data: bytes, *, pad: bool = True) -> str:
    text = base64.b64encode(data).decode()
    return text if pad else text.rstrip("=")


CASES = [
    pytest.param("$md5$" + b64(hashlib.md5(PW).digest()), id="md5 plain"),  # noqa: S324
    pytest.param(f"$md5$pf={b64(b'{SALT}{PASSWORD}')}${b64(SALT)}${b64(hashlib.md5(SALT + PW).digest())}",  # noqa: S324
                 id="md5 with pf"),
    pytest.param(f"$sha1$pf={b64(b'{PASSWORD}{SALT}')}${b64(SALT)}${b64(hashlib.sha1(PW + SALT).digest())}",  # noqa: S324
                 id="sha1 with pf"),
    pytest.param(f"$sha512$pf={b64(b'{PASSWORD}')}${b64(b'')}${b64(hashlib.sha512(PW).digest())}", id="sha512 no salt"),
    pytest.param("{SSHA}" + b64(hashlib.sha1(PW + SALT).digest() + SALT), id="ssha"),  # noqa: S324
    pytest.param("{SSHA512}" + b64(hashlib.sha512(PW + SALT).digest() + SALT), id="ssha512"),
    pytest.param(f"$pbkdf2-sha256$i=1000,l=32${b64(SALT, pad=False)}$"
                 f"{b64(hashlib.pbkdf2_hmac('sha256', PW, SALT, 1000, 32), pad=False)}", id="pbkdf2-sha256"),
    pytest.param(f"$scrypt$ln=1024,r=8,p=1${b64(SALT)}${b64(hashlib.scrypt(PW, salt=SALT, n=1024, r=8, p=1))}",
                 id="scrypt (ln is N)"),
    pytest.param(f"$hmac-sha256${b64(hmac.new(SALT, PW, 'sha256').hexdigest().encode())}${b64(SALT)}",
                 id="hmac-sha256 (hex digest)"),
]


@pytest.mark.parametrize("stored", CASES)
def test_kratos_layouts_verify(stored: str) -> None:
    assert hashformats.verify(stored, PW.decode())
    assert not hashformats.verify(stored, "wrong password")


@pytest.mark.parametrize("stored", [
    "$md5$not base64!", "$pbkdf2-sha256$i=0,l=32$c2FsdA$aGFzaA", "$scrypt$ln=1000,r=8,p=1$c2FsdA==$aGFzaA==",
    "{SSHA}" + b64(b"short"), "$sha1$pf=" + b64(b"{SALT}") + "$$" + b64(b"x"), "$hmac-md4$YQ==$YQ==", "plain",
])
def test_malformed_or_unavailable_formats_are_refused(stored: str) -> None:
    with pytest.raises(hashformats.UnsupportedHash):
        hashformats.parse(stored)
    assert not hashformats.verify(stored, "anything")
