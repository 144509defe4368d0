"""`gatekeeper credentials generate --alg ALG [--kid KID] [--bits N]`: Oathkeeper's command; prints a JSON Web Key
Set holding one new private signing key, e.g. for the `id_token` mutator's `jwks_url`."""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import uuid
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, HMACAlgorithm, OKPAlgorithm, RSAAlgorithm

from gatekeeper.cli.output import go_json

ALGORITHMS = ("HS256", "HS384", "HS512", "ES256", "ES384", "ES512", "EdDSA",
              "RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
_CURVES = {"ES256": (ec.SECP256R1, 256), "ES384": (ec.SECP384R1, 384), "ES512": (ec.SECP521R1, 521)}
_HMAC_BITS = {"HS256": 256, "HS384": 384, "HS512": 512}  # the least; Oathkeeper's HS512 default is 1024


class UnsupportedKey(ValueError):
    """Flags that describe no key Oathkeeper would generate."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `credentials` command group."""
    credentials = commands.add_parser("credentials", help="generate keys as JSON Web Keys (Oathkeeper's command)")
    actions = credentials.add_subparsers(metavar="ACTION", required=True)
    generate = actions.add_parser("generate", help="print a JSON Web Key Set with one new private signing key")
    generate.add_argument("--alg", default="", help=f"the algorithm the key is for: one of {', '.join(ALGORITHMS)}")
    generate.add_argument("--kid", default="", help="the key id (default: a random UUID)")
    generate.add_argument("--bits", type=int, default=0,
                          help="key size in bits (default: a secure size for the algorithm)")
    generate.set_defaults(run=_generate)


def _generate(args: argparse.Namespace) -> int:
    if not args.alg:
        print('required flag(s) "alg" not set', file=sys.stderr)
        return 1
    try:
        key = signing_jwk(args.alg, args.bits)
    except UnsupportedKey as exc:
        print(f"Unable to generate key: {exc}", file=sys.stderr)
        return 1
    key.pop("key_ops", None)  # PyJWT adds it to RSA keys; Oathkeeper's keys carry `use` only
    jwk = {"use": "sig", "kty": key.pop("kty"), "kid": args.kid or str(uuid.uuid4()), "alg": args.alg, **key}
    print(go_json({"keys": [jwk]}, indent=2))
    return 0


def signing_jwk(alg: str, bits: int = 0) -> dict[str, Any]:
    """The members of a new private JWK for `alg` (no `use`, `kid` or `alg` yet), with Oathkeeper's size rules."""
    if alg in _CURVES:
        curve, size = _CURVES[alg]
        if bits not in (0, size):
            raise UnsupportedKey(f'"{alg}" does not support arbitrary key length')
        return _as_dict(ECAlgorithm.to_jwk(ec.generate_private_key(curve()), as_dict=True))
    if alg == "EdDSA":
        if bits not in (0, 256):
            raise UnsupportedKey(f'"{alg}" does not support arbitrary key length')
        return _as_dict(OKPAlgorithm.to_jwk(ed25519.Ed25519PrivateKey.generate(), as_dict=True))
    if alg[:2] in ("RS", "PS") and alg in ALGORITHMS:
        bits = bits or 2048
        if bits < 2048:
            raise UnsupportedKey(f'key size must be at least 2048 bit for algorithm "{alg}"')
        return _as_dict(RSAAlgorithm.to_jwk(rsa.generate_private_key(65537, bits), as_dict=True))
    if alg in _HMAC_BITS:
        bits = bits or (1024 if alg == "HS512" else _HMAC_BITS[alg])
        if bits < _HMAC_BITS[alg] or bits % 8:
            raise UnsupportedKey(f'key size must be a multiple of 8 and at least {_HMAC_BITS[alg]} bit for algorithm '
                            f'"{alg}"')
        return _as_dict(HMACAlgorithm.to_jwk(secrets.token_bytes(bits // 8), as_dict=True))
    raise UnsupportedKey(f'available algorithms are {", ".join(ALGORITHMS)} but unknown algorithm was requested: '
                         f'"{alg}"')


def _as_dict(jwk: Any) -> dict[str, Any]:
    return dict(json.loads(jwk) if isinstance(jwk, str) else jwk)
