"""OpenAPI 3 documents generated from the routes each listener serves, so they cannot drift.

Admin routes are declared with `operation(...)`, which keeps the description on the route itself. Public
routes are written by other modules as plain Starlette routes; `PUBLIC` describes them keyed by
(method, path) and `undocumented()` lists any live route that has no description (a test fails on it).
Both documents are built at request time from `app.routes[listener]` and served at `/openapi.json`
(and `/.well-known/openapi.json`); Kratos itself ships its document only in its repository (spec/api.json).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from gatekeeper.http.common import endpoint
from gatekeeper.http.schemas import COMPONENTS

DOC_PATHS = ("/openapi.json", "/.well-known/openapi.json")
UNDOCUMENTED_PREFIXES = ("/ui", "/admin/ui", "/health/", "/.dev/")  # HTML pages (the --dev inbox), health checks


@dataclass(frozen=True)
class Param:
    name: str
    where: str  # "path" | "query" | "header" | "cookie"
    description: str = ""
    type: str = "string"  # "string" | "integer" | "boolean" | "array"


@dataclass(frozen=True)
class Doc:
    """One operation's description: what it takes and what it answers (schema names from api/schemas.py)."""

    operation_id: str
    summary: str
    params: tuple[Param, ...] = ()
    body: str | None = None
    responses: dict[int, str | None] = field(default_factory=dict)
    content: str = "application/json"  # of the documented responses


def operation(method: str, path: str, fn: Callable[[Request], Awaitable[Response]], operation_id: str,
              summary: str, *, params: tuple[Param, ...] = (), body: str | None = None,
              responses: dict[int, str | None] | None = None) -> Route:
    """A route carrying its OpenAPI description (route.openapi)."""
    route = Route(path, endpoint(path)(fn), methods=[method])
    route.openapi = Doc(operation_id, summary, params, body, dict(responses or {}))  # type: ignore[attr-defined]
    return route


def _p(name: str, where: str = "query", type_: str = "string") -> Param:
    return Param(name, where, "", type_)


_FLOW_Q = (_p("return_to"), _p("refresh", type_="boolean"), _p("aal"), _p("login_challenge"), _p("organization"),
           _p("via"), _p("identity_schema"))


def _flow_docs(kind: str) -> dict[tuple[str, str], Doc]:
    title = kind.capitalize()
    return {
        ("GET", f"/self-service/{kind}/browser"): Doc(
            f"createBrowser{title}Flow", f"Start a browser {kind} flow", _FLOW_Q,
            responses={200: "Flow", 303: None, 400: "ErrorGeneric"}),
        ("GET", f"/self-service/{kind}/api"): Doc(
            f"createNative{title}Flow", f"Start an API {kind} flow", _FLOW_Q,
            responses={200: "Flow", 400: "ErrorGeneric"}),
        ("GET", f"/self-service/{kind}/flows"): Doc(
            f"get{title}Flow", f"Get a {kind} flow", (_p("id"),),
            responses={200: "Flow", 403: "ErrorGeneric", 404: "ErrorGeneric", 410: "ErrorGeneric"}),
        ("POST", f"/self-service/{kind}"): Doc(
            f"update{title}Flow", f"Submit a {kind} flow", (_p("flow"), _p("token"), _p("code")), body="FlowBody",
            responses={200: None, 303: None, 400: None, 403: "ErrorGeneric", 404: "ErrorGeneric",
                       410: "ErrorGeneric", 422: None}),
    }


_CALLBACK = "/self-service/methods/oidc/callback/{provider}"
_CALLBACK_DOC = Doc("oidcCallback", "Social sign-in provider callback", (_p("provider", "path"), _p("state"),
                                                                        _p("code"), _p("error")),
                    responses={303: None, 400: None, 403: None, 404: None, 410: None})
PUBLIC: dict[tuple[str, str], Doc] = {
    ("GET", "/sessions/whoami"): Doc("toSession", "Check who the current session belongs to",
                                     (Param("tokenize_as", "query", "a template of session.whoami.tokenizer."
                                            "templates: the session also comes as a signed JWT in `tokenized`"),
                                      _p("X-Session-Token", "header")),
                                     responses={200: "Session", 400: "ErrorGeneric", 401: "ErrorGeneric",
                                                403: "ErrorGeneric"}),
    **{k: v for kind in ("login", "registration", "settings", "recovery", "verification")
       for k, v in _flow_docs(kind).items()},
    **{("GET", f"/self-service/{kind}"): Doc(
        f"follow{kind.capitalize()}Link", f"Follow a {kind} link from an e-mail", (_p("flow"), _p("token")),
        responses={200: None, 303: None, 400: None, 404: None, 410: None}) for kind in ("recovery", "verification")},
    ("GET", _CALLBACK): _CALLBACK_DOC,
    ("POST", _CALLBACK): _CALLBACK_DOC,
    ("GET", "/self-service/logout/browser"): Doc("createBrowserLogoutFlow", "Create a logout URL",
                                                 (_p("return_to"),),
                                                 responses={200: "LogoutFlow", 401: "ErrorGeneric"}),
    ("GET", "/self-service/logout"): Doc("updateLogoutFlow", "Log out (browser)", (_p("token"), _p("return_to")),
                                         responses={204: None, 303: None, 400: None, 401: None, 403: None}),
    ("DELETE", "/self-service/logout/api"): Doc("performNativeLogout", "Log out (API)",
                                                body="PerformNativeLogoutBody",
                                                responses={204: None, 400: "ErrorGeneric", 403: "ErrorGeneric"}),
    ("GET", "/self-service/errors"): Doc("getFlowError", "Get a self-service error", (_p("id"),),
                                         responses={200: "FlowError", 404: "ErrorGeneric"}),
    ("GET", "/sessions"): Doc("listMySessions", "List my other sessions",
                              (_p("page_size", type_="integer"), _p("page_token")),
                              responses={200: "SessionList", 401: "ErrorGeneric", 403: "ErrorGeneric"}),
    ("DELETE", "/sessions"): Doc("disableMyOtherSessions", "Revoke my other sessions",
                                 responses={200: "DeleteMySessionsCount", 401: "ErrorGeneric"}),
    ("DELETE", "/sessions/{id}"): Doc("disableMySession", "Revoke one of my sessions", (_p("id", "path"),),
                                      responses={204: None, 400: "ErrorGeneric", 401: "ErrorGeneric",
                                                 404: "ErrorGeneric"}),
    ("GET", "/sessions/token-exchange"): Doc("exchangeSessionToken", "Exchange a session token",
                                             (_p("init_code"), _p("return_to_code")),
                                             responses={200: None, 400: "ErrorGeneric", 404: "ErrorGeneric"}),
    ("GET", "/schemas"): Doc("listIdentitySchemas", "List identity schemas",
                             (_p("page_size", type_="integer"), _p("page_token")),
                             responses={200: "IdentitySchemas"}),
    ("GET", "/schemas/{id}"): Doc("getIdentitySchema", "Get an identity schema", (_p("id", "path"),),
                                  responses={200: "AnyObject", 404: "ErrorGeneric"}),
    ("GET", "/.well-known/ory/webauthn.js"): Doc("getWebAuthnJavaScript", "Get WebAuthn JavaScript",
                                                 responses={200: None}, content="text/javascript"),
}


def describe(route: Route, method: str, table: dict[tuple[str, str], Doc]) -> Doc | None:
    return getattr(route, "openapi", None) or table.get((method, route.path))


def _api_routes(routes: Iterable[BaseRoute]) -> Iterable[tuple[Route, str]]:
    for route in routes:
        if not isinstance(route, Route) or route.path in DOC_PATHS:
            continue
        if any(route.path.startswith(p) for p in UNDOCUMENTED_PREFIXES):
            continue
        for method in sorted((route.methods or set()) - {"HEAD"}):
            yield route, method


def undocumented(routes: Iterable[BaseRoute], table: dict[tuple[str, str], Doc]) -> list[str]:
    """`METHOD path` of every API route without a description."""
    return [f"{m} {r.path}" for r, m in _api_routes(routes) if describe(r, m, table) is None]


def _param(p: Param) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": p.type}
    if p.type == "array":
        schema["items"] = {"type": "string"}
    if p.type == "integer":
        schema.update(minimum=1, maximum=1000)
    out = {"name": p.name, "in": p.where, "required": p.where == "path", "schema": schema}
    if p.description:
        out["description"] = p.description
    if p.type == "array":
        out.update(style="form", explode=True)
    return out


def _responses(doc: Doc) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for status, schema in sorted(doc.responses.items()):
        entry: dict[str, Any] = {"description": _PHRASES.get(status, "Response")}
        if schema is not None:
            entry["content"] = {doc.content: {"schema": {"$ref": f"#/components/schemas/{schema}"}}}
        out[str(status)] = entry
    # every error we answer is Kratos' envelope (bad parameters, bodies too large, store unavailable, ...)
    out["default"] = {"description": "Kratos' error envelope",
                      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorGeneric"}}}}
    return out


_PHRASES = {200: "OK", 201: "Created", 204: "No Content", 303: "See Other", 400: "Bad Request",
            401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict", 410: "Gone",
            422: "Unprocessable Entity"}


def document(title: str, routes: Iterable[BaseRoute], table: dict[tuple[str, str], Doc],
             server: str = "/") -> dict[str, Any]:
    """The OpenAPI 3.0 document of `routes`."""
    paths: dict[str, dict[str, Any]] = {}
    for route, method in _api_routes(routes):
        doc = describe(route, method, table)
        if doc is None:
            continue
        op: dict[str, Any] = {"operationId": doc.operation_id, "summary": doc.summary,
                              "parameters": [_param(p) for p in doc.params], "responses": _responses(doc)}
        if doc.body:
            op["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{doc.body}"}}}}
        paths.setdefault(route.path, {})[method.lower()] = op
    return {"openapi": "3.0.3", "info": {"title": title, "version": "v25.4.0"}, "servers": [{"url": server}],
            "paths": paths, "components": {"schemas": COMPONENTS}}


def doc_routes(title: str, routes: list[BaseRoute], table: dict[tuple[str, str], Doc]) -> list[BaseRoute]:
    """Routes serving the document of `routes` (read at request time: routes added later are included)."""
    async def serve(request: Request) -> Response:
        root = request.scope.get("root_path", "") or "/"
        return JSONResponse(document(title, routes, table, root), headers={"Cache-Control": "no-cache"})

    return [Route(p, endpoint(p)(serve), methods=["GET"]) for p in DOC_PATHS]
