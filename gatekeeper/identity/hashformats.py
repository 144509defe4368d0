"""Imported password hashes in Kratos' formats (hash/hash_comparator.go), matched by prefix.

`parse(stored)` raises UnsupportedHash for anything we cannot verify (the admin API answers 400 before
storing it); `verify(stored, password)` checks a password against a parsed format. The primitives come
from hashlib, hmac, cryptography, bcrypt, argon2-cffi and passlib (crypt(3) formats): nothing hand-rolled.
bcrypt and argon2 are verified by passwords.Hasher itself; they are only recognised here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import argon2
import bcrypt
from argon2.exceptions import InvalidHashError
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

with warnings.catch_warnings():  # passlib's optional use of the stdlib `crypt` module warns on import; unused
    warnings.simplefilter("ignore", DeprecationWarning)
    from passlib.hash import md5_crypt, sha256_crypt, sha512_crypt

NATIVE_PREFIXES = ("$2a$", "$2b$", "$2y$", "$2$", "$2z$", "$argon2id$", "$argon2i$")
_SSHA = {"{SSHA}": "sha1", "{SSHA256}": "sha256", "{SSHA512}": "sha512"}
_CRYPT = {"$md5-crypt$": "$1$", "$sha256-crypt$": "$5$", "$sha512-crypt$": "$6$"}
_HMAC = re.compile(r"^\$hmac-(md4|md5|sha1|sha224|sha256|sha384|sha512)\$([^$]+)\$([^$]+)$")
_PBKDF2 = re.compile(r"^\$pbkdf2-(sha1|sha224|sha256|sha384|sha512)\$i=(\d+),l=(\d+)\$([^$]+)\$([^$]+)$")
_SCRYPT = re.compile(r"^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([^$]+)\$([^$]+)$")
_FIRESCRYPT = re.compile(r"^\$firescrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([^$]+)\$([^$]+)\$([^$]+)\$([^$]+)$")
_SALTED = re.compile(r"^\$(md5|sha1|sha256|sha512)\$pf=([^$]+)\$([^$]*)\$([^$]+)$")
_MD5 = re.compile(r"^\$md5\$([^$]+)$")
_MAX_SCRYPT_MEMORY = 1 << 30  # refuse parameters that would need more than 1 GiB per verification
_MAX_ITERATIONS = 10_000_000


class UnsupportedHash(ValueError):
    """The stored value is not a hash format we can verify (or its parameters are out of bounds)."""


Verifier = Callable[[bytes], bool]


@dataclass(frozen=True)
class Parsed:
    algorithm: str
    check: Verifier


def _b64(text: str) -> bytes:
    """Standard or URL-safe base64, padded or not (Kratos uses both StdEncoding and RawStdEncoding)."""
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_" if ("-" in text or "_" in text)
                                else None, validate=True)
    except (binascii.Error, ValueError):
        raise UnsupportedHash("a salt or hash is not valid base64") from None


def _equal(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)


def _digest(name: str, data: bytes) -> bytes:
    try:
        return hashlib.new(name, data, usedforsecurity=False).digest()
    except ValueError:
        raise UnsupportedHash(f"{name} is not available on this system") from None


def _pbkdf2(m: re.Match[str]) -> Parsed:
    algo, iterations, length = m.group(1), int(m.group(2)), int(m.group(3))
    salt, expected = _b64(m.group(4)), _b64(m.group(5))
    if not 1 <= iterations <= _MAX_ITERATIONS or not 1 <= length <= 1024:
        raise UnsupportedHash("pbkdf2 parameters are out of bounds")
    return Parsed(f"pbkdf2-{algo}", lambda pw: _equal(hashlib.pbkdf2_hmac(algo, pw, salt, iterations,
                                                                          len(expected)), expected))


def _scrypt_params(n: int, r: int, p: int) -> None:
    if n < 2 or n & (n - 1) or not 1 <= r <= 64 or not 1 <= p <= 64 or 128 * r * (n + p + 2) > _MAX_SCRYPT_MEMORY:
        raise UnsupportedHash("scrypt parameters are out of bounds")


def _scrypt(m: re.Match[str]) -> Parsed:
    n, r, p = int(m.group(1)), int(m.group(2)), int(m.group(3))
    salt, expected = _b64(m.group(4)), _b64(m.group(5))
    _scrypt_params(n, r, p)
    return Parsed("scrypt", lambda pw: _equal(
        hashlib.scrypt(pw, salt=salt, n=n, r=r, p=p, dklen=len(expected), maxmem=_MAX_SCRYPT_MEMORY + 2**20),
        expected))


def _firescrypt(m: re.Match[str]) -> Parsed:
    """Firebase's scrypt: derive a key from salt+separator, then AES-256-CTR-encrypt the signer key with it."""
    log_n, r, p = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if not 1 <= log_n <= 20:
        raise UnsupportedHash("firescrypt parameters are out of bounds")
    n = 1 << log_n
    _scrypt_params(n, r, p)
    salt, expected, separator, signer = (_b64(m.group(i)) for i in (4, 5, 6, 7))

    def check(pw: bytes) -> bool:
        key = hashlib.scrypt(pw, salt=salt + separator, n=n, r=r, p=p, dklen=32, maxmem=_MAX_SCRYPT_MEMORY + 2**20)
        encryptor = Cipher(algorithms.AES(key), modes.CTR(b"\0" * 16)).encryptor()
        return _equal(encryptor.update(signer) + encryptor.finalize(), expected)

    return Parsed("firescrypt", check)


def _salted(m: re.Match[str]) -> Parsed:
    """`$<algo>$pf=<b64 template>$<b64 salt>$<b64 hash>`: the template places {SALT} and {PASSWORD}."""
    algo = m.group(1)
    template, salt, expected = _b64(m.group(2)), _b64(m.group(3)) if m.group(3) else b"", _b64(m.group(4))
    if b"{PASSWORD}" not in template:
        raise UnsupportedHash("the pf template must contain {PASSWORD}")
    _digest(algo, b"")

    def check(pw: bytes) -> bool:
        return _equal(_digest(algo, template.replace(b"{SALT}", salt).replace(b"{PASSWORD}", pw)), expected)

    return Parsed(algo, check)


def _plain_md5(m: re.Match[str]) -> Parsed:
    expected = _b64(m.group(1))
    return Parsed("md5", lambda pw: _equal(_digest("md5", pw), expected))


def _hmac(m: re.Match[str]) -> Parsed:
    algo, expected, key = m.group(1), _b64(m.group(2)), _b64(m.group(3))
    _digest(algo, b"")
    # Kratos compares the hex digest: the stored hash is base64(hex(HMAC(key, password)))
    return Parsed(f"hmac-{algo}", lambda pw: _equal(hmac.new(key, pw, algo).hexdigest().encode(), expected))


def _ssha(stored: str, prefix: str) -> Parsed:
    algo = _SSHA[prefix]
    raw = _b64(stored[len(prefix):])
    size = hashlib.new(algo).digest_size
    if len(raw) <= size:
        raise UnsupportedHash(f"{prefix} needs a salt after the {size}-byte hash")
    expected, salt = raw[:size], raw[size:]
    return Parsed(prefix.strip("{}").lower(), lambda pw: _equal(_digest(algo, pw + salt), expected))


_CRYPT_HANDLERS: dict[str, Any] = {"$1$": md5_crypt, "$5$": sha256_crypt, "$6$": sha512_crypt}  # passlib's


def _crypt(stored: str, prefix: str) -> Parsed:
    handler = _CRYPT_HANDLERS[_CRYPT[prefix]]
    standard = _CRYPT[prefix] + stored[len(prefix):]
    if not handler.identify(standard):
        raise UnsupportedHash(f"{prefix.strip('$')} hash is malformed")
    try:
        handler.from_string(standard)
    except ValueError:
        raise UnsupportedHash(f"{prefix.strip('$')} hash is malformed") from None
    return Parsed(prefix.strip("$"), lambda pw: bool(handler.verify(pw, standard)))


_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], Parsed]], ...] = (
    (_PBKDF2, _pbkdf2), (_SCRYPT, _scrypt), (_FIRESCRYPT, _firescrypt), (_SALTED, _salted), (_MD5, _plain_md5),
    (_HMAC, _hmac))


def parse(stored: str) -> Parsed:
    """The format of an imported hash; UnsupportedHash when we do not know it or it is malformed."""
    for prefix in _SSHA:
        if stored.startswith(prefix):
            return _ssha(stored, prefix)
    for prefix in _CRYPT:
        if stored.startswith(prefix):
            return _crypt(stored, prefix)
    for pattern, build in _PATTERNS:
        m = pattern.match(stored)
        if m:
            return build(m)
    raise UnsupportedHash("unsupported hash format")


def check_importable(stored: str) -> str:
    """The algorithm of a hash the admin API may store (native bcrypt/argon2 included); UnsupportedHash if not."""
    if stored.startswith(NATIVE_PREFIXES):
        return _check_native(stored)
    return parse(stored).algorithm


def _check_native(stored: str) -> str:
    if stored.startswith("$2"):
        if not re.match(r"^\$2[abyz]?\$\d{2}\$[./A-Za-z0-9]{53}$", stored):
            raise UnsupportedHash("bcrypt hash is malformed")
        return "bcrypt"
    try:
        argon2.extract_parameters(stored)
    except (InvalidHashError, ValueError):
        raise UnsupportedHash("argon2 hash is malformed") from None
    return "argon2id" if stored.startswith("$argon2id$") else "argon2i"


def verify(stored: str, password: str) -> bool:
    """True when `password` matches an imported (non-bcrypt, non-argon2) hash; False for any other value."""
    try:
        return parse(stored).check(password.encode())
    except (UnsupportedHash, ValueError):
        return False


def _enc(data: bytes) -> str:
    return base64.b64encode(data).decode()


def make(algorithm: str, password: str) -> str:
    """A hash of `password` in one of the import formats (for `gatekeeper hash` and tests), fresh random salt."""
    pw, salt = password.encode(), os.urandom(16)
    if algorithm == "bcrypt":
        return bcrypt.hashpw(pw, bcrypt.gensalt(10)).decode()
    if algorithm in ("argon2id", "argon2i"):
        kind = argon2.Type.ID if algorithm == "argon2id" else argon2.Type.I
        return argon2.PasswordHasher(type=kind).hash(password)
    if algorithm.startswith("pbkdf2-"):
        digest = hashlib.pbkdf2_hmac(algorithm[7:], pw, salt, 10_000, 32)
        return f"${algorithm}$i=10000,l=32${_enc(salt).rstrip('=')}${_enc(digest).rstrip('=')}"
    if algorithm == "scrypt":
        return f"$scrypt$ln=16384,r=8,p=1${_enc(salt)}${_enc(hashlib.scrypt(pw, salt=salt, n=16384, r=8, p=1))}"
    if algorithm == "firescrypt":
        separator, signer = b"\x01", os.urandom(32)
        key = hashlib.scrypt(pw, salt=salt + separator, n=1 << 14, r=8, p=1, dklen=32)
        encryptor = Cipher(algorithms.AES(key), modes.CTR(b"\0" * 16)).encryptor()
        digest = encryptor.update(signer) + encryptor.finalize()
        return f"$firescrypt$ln=14,r=8,p=1${_enc(salt)}${_enc(digest)}${_enc(separator)}${_enc(signer)}"
    if algorithm == "md5" or algorithm in ("sha1", "sha256", "sha512"):
        template = b"{SALT}{PASSWORD}"
        return f"${algorithm}$pf={_enc(template)}${_enc(salt)}${_enc(_digest(algorithm, salt + pw))}"
    if algorithm.upper() in ("SSHA", "SSHA256", "SSHA512"):
        prefix = "{" + algorithm.upper() + "}"
        return prefix + _enc(_digest(_SSHA[prefix], pw + salt) + salt)
    if f"${algorithm}$" in _CRYPT:
        handler = _CRYPT_HANDLERS[_CRYPT[f"${algorithm}$"]]
        standard = str(handler.hash(password))
        return f"${algorithm}$" + standard.split("$", 2)[2]
    if algorithm.startswith("hmac-"):
        return f"${algorithm}${_enc(hmac.new(salt, pw, algorithm[5:]).hexdigest().encode())}${_enc(salt)}"
    raise UnsupportedHash(f"unknown algorithm {algorithm!r}")


ALGORITHMS = ("bcrypt", "argon2id", "argon2i", "pbkdf2-sha1", "pbkdf2-sha256", "pbkdf2-sha512", "scrypt",
              "firescrypt", "md5", "sha1", "sha256", "sha512", "ssha", "ssha256", "ssha512", "md5-crypt",
              "sha256-crypt", "sha512-crypt", "hmac-md5", "hmac-sha1", "hmac-sha256", "hmac-sha512")
