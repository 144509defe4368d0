"""`expression`: gatekeeper's own authorizer. A boolean expression, parsed once at rule load by a safe
evaluator (simpleeval: no attribute escapes, no imports, no `eval`), decided per request on:

    subject, session (the Kratos session or JWT claims), identity (traits, metadata_public,
    metadata_admin), claims, extra, method, path, host, scheme, captures, client_ip,
    header("X-Name"), in_network(client_ip, "10.0.0.0/8")

e.g. `"admin" in identity.metadata_admin.roles and session.aal == "aal2"`. Missing keys read as an
empty value; any evaluation error denies (fail closed) and the reason is logged.
"""

from __future__ import annotations

import ast
import ipaddress
import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import simpleeval

from gatekeeper.access.handlers import AuthSession, Deps
from gatekeeper.errors import Forbidden

log = logging.getLogger("gatekeeper.access.authz")


class Dot(dict):  # type: ignore[type-arg]
    """A read-only dict whose missing keys are an empty Dot (so `a.b.c` never raises on absent data)."""

    def __missing__(self, key: str) -> Dot:
        return _EMPTY

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        return self[key]


_EMPTY = Dot()


def wrap(value: Any) -> Any:
    if isinstance(value, dict):
        return Dot({k: wrap(v) for k, v in value.items()})
    if isinstance(value, list):
        return [wrap(v) for v in value]
    return value


@lru_cache(maxsize=256)
def _network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(cidr, strict=False)


def in_network(ip: str, *cidrs: str) -> bool:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(addr in _network(c) for c in cidrs)


FUNCTIONS = {"in_network": in_network, "len": len, "lower": lambda s: str(s).lower(),
             "startswith": lambda s, p: str(s).startswith(p), "any": any, "all": all}
NAMES = ("subject", "session", "identity", "claims", "extra", "method", "path", "host", "scheme", "captures",
         "client_ip", "header", "true", "false", "none")


@dataclass(frozen=True)
class ExpressionConfig:
    expression: str


def parse(expression: str) -> ast.AST:
    evaluator = simpleeval.EvalWithCompoundTypes(functions=FUNCTIONS)
    tree: ast.AST = evaluator.parse(expression)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in NAMES and node.id not in FUNCTIONS \
                and node.id not in ("True", "False", "None"):
            raise ValueError(f"unknown name {node.id!r} (available: {', '.join(NAMES)})")
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise ValueError("attributes starting with _ are not available")
    return tree


class Expression:
    def __init__(self, cfg: ExpressionConfig, deps: Deps) -> None:
        self.source = cfg.expression
        self.tree = parse(cfg.expression)

    @staticmethod
    def problems(cfg: ExpressionConfig) -> list[tuple[str, str]]:
        try:
            parse(cfg.expression)
        except (SyntaxError, ValueError, simpleeval.InvalidExpression) as exc:
            return [("expression", f"cannot parse: {exc}")]
        return []

    async def authorize(self, session: AuthSession) -> None:
        view = session.view
        extra = wrap(session.extra)
        if "authenticator_assurance_level" in extra and "aal" not in extra:
            extra["aal"] = extra["authenticator_assurance_level"]  # `session.aal == "aal2"`, as documented above
        names = {
            "subject": session.subject, "session": extra, "extra": extra, "claims": extra,
            "identity": extra["identity"] if "identity" in extra else _EMPTY,
            "method": view.method, "path": view.path, "host": view.host, "scheme": view.scheme,
            "captures": list(session.captures), "client_ip": view.client_ip,
            "true": True, "false": False, "none": None,
        }
        functions = {**FUNCTIONS, "header": view.headers.get}
        evaluator = simpleeval.EvalWithCompoundTypes(names=names, functions=functions)
        try:
            allowed = evaluator.eval(self.source, previously_parsed=self.tree)
        except Exception as exc:  # noqa: BLE001 - any evaluation failure denies
            log.info("expression failed: denying", extra={"error": f"{type(exc).__name__}: {exc}"})
            raise Forbidden("Access credentials are not sufficient to access this resource",
                            reason=f"the expression could not be evaluated ({type(exc).__name__})") from None
        if allowed is not True:
            raise Forbidden("Access credentials are not sufficient to access this resource",
                            reason="the expression is false")
