"""`expression`: gatekeeper's own authorizer. A boolean expression, parsed once at rule load by a safe
evaluator (simpleeval: no attribute escapes, no imports, no `eval`), decided per request on:

    subject, session (the Kratos session or JWT claims), identity (traits, metadata_public,
    metadata_admin), claims, extra, method, path, host, scheme, captures, client_ip,
    header("X-Name"), in_network(client_ip, "10.0.0.0/8"),
    check("File", captures[0], "view")   (Keto: is the subject in that relation? needs `namespaces`)

e.g. `"admin" in identity.metadata_admin.roles and session.aal == "aal2"`. Missing keys read as an
empty value; any evaluation error denies (fail closed) and the reason is logged.

The evaluator is synchronous, so the `check(...)` calls of an expression are asked first, concurrently, with
their arguments evaluated on the request (a call whose arguments fail there is skipped and, if the expression
reaches it, denies); an anonymous subject is in no relation, and a check that cannot be answered denies.
"""

from __future__ import annotations

import ast
import asyncio
import ipaddress
import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import simpleeval

from gatekeeper.access.handlers import AuthSession, Deps
from gatekeeper.errors import Forbidden, GatekeeperError

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
CHECK = "check"
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
                and node.id not in ("True", "False", "None", CHECK):
            raise ValueError(f"unknown name {node.id!r} (available: {', '.join(NAMES)})")
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise ValueError("attributes starting with _ are not available")
        if isinstance(node, ast.Name) and node.id == CHECK and node not in (c.func for c in check_calls(tree)):
            raise ValueError("check is a function: check(namespace, object, relation)")
    for call in check_calls(tree):
        if len(call.args) != 3 or call.keywords:
            raise ValueError("check takes three arguments: check(namespace, object, relation)")
    return tree


def check_calls(tree: ast.AST) -> list[ast.Call]:
    return [node for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == CHECK]


class Expression:
    def __init__(self, cfg: ExpressionConfig, deps: Deps) -> None:
        self.source = cfg.expression
        self.tree = parse(cfg.expression)
        self.checks = check_calls(self.tree)
        self.permissions = deps.permissions

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
        functions: dict[str, Any] = {**FUNCTIONS, "header": view.headers.get}
        evaluator = simpleeval.EvalWithCompoundTypes(names=names, functions=functions)
        if self.checks:
            answers = await self.ask(evaluator, session.subject)
            functions[CHECK] = lambda *asked: answers[tuple(str(a) for a in asked)]
        try:
            allowed = evaluator.eval(self.source, previously_parsed=self.tree)
        except Exception as exc:  # noqa: BLE001 - any evaluation failure denies
            log.info("expression failed: denying", extra={"error": f"{type(exc).__name__}: {exc}"})
            raise Forbidden("Access credentials are not sufficient to access this resource",
                            reason=f"the expression could not be evaluated ({type(exc).__name__})") from None
        if allowed is not True:
            raise Forbidden("Access credentials are not sufficient to access this resource",
                            reason="the expression is false")

    async def ask(self, evaluator: simpleeval.EvalWithCompoundTypes, subject: str) -> dict[tuple[str, ...], bool]:
        """The answer to each `check(...)` whose arguments evaluate on this request (a Forbidden when one cannot
        be answered)."""
        asked = set()
        for call in self.checks:
            try:
                asked.add(tuple(str(evaluator.eval(self.source, previously_parsed=arg)) for arg in call.args))
            except Exception:  # noqa: BLE001, S112 - skipped: the expression denies if it reaches this call
                continue
        if not subject or self.permissions is None:
            return dict.fromkeys(asked, False)
        permissions = self.permissions
        order = list(asked)
        try:
            answers = await asyncio.gather(*(permissions.check(
                {"namespace": ns, "object": obj, "relation": rel, "subject_id": subject}) for ns, obj, rel in order))
        except GatekeeperError as exc:
            log.info("expression check failed: denying", extra={"error": exc.reason or exc.message})
            raise Forbidden("Access credentials are not sufficient to access this resource",
                            reason="a permission check of the expression could not be answered") from None
        return dict(zip(order, answers, strict=True))
