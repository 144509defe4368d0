"""Keto's read API, served on the `api` listener (Oathkeeper's port, where `remote_json` rules point):

    GET  /relation-tuples                  a page of tuples: {relation_tuples, next_page_token}
    GET|POST /relation-tuples/check        200 {allowed: true} or 403 {allowed: false}
    GET|POST /relation-tuples/check/openapi   always 200 {allowed}
    POST /relation-tuples/batch/check      {results: [{allowed, error?}]} for up to limit.max_batch_check_size tuples
    GET  /relation-tuples/expand           the subject tree of a subject set
    GET  /namespaces                       {namespaces: [{name}]}
    POST /opl/syntax/check                 {errors: [{message, start, end}]} for an OPL document
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from gatekeeper.errors import BadRequest, NotFound
from gatekeeper.http.common import json_response, loads_json, read_raw
from gatekeeper.http.keto.services import PermissionServices
from gatekeeper.http.openapi import Param, operation
from gatekeeper.permissions.model import (
    QUERY_KEYS,
    SubjectSet,
    query_from_params,
    tuple_from_json,
    tuple_from_params,
)
from gatekeeper.permissions.opl import syntax_errors
from gatekeeper.permissions.pagination import page_size

MAX_OPL_BYTES = 1 << 20
_QUERY = tuple(Param(k, "query") for k in QUERY_KEYS)


def max_depth(request: Request) -> int:
    raw = request.query_params.get("max-depth")
    if raw is None:
        return 0
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f"unable to parse 'max-depth' query parameter to int: {raw!r}") from None


class KetoReadApi:
    def __init__(self, services: PermissionServices) -> None:
        self.s = services

    def routes(self) -> list[BaseRoute]:
        """The routes, each with its OpenAPI description (operation ids as Keto's)."""
        check, check_openapi = self.check(mirror_status=True), self.check(mirror_status=False)
        tuple_q = (*_QUERY, Param("max-depth", "query", type="integer"))
        answers: dict[int, str | None] = {200: "CheckPermissionResult", 400: "ErrorGeneric"}
        mirrored: dict[int, str | None] = {**answers, 403: "CheckPermissionResult"}
        return [
            operation("GET", "/relation-tuples", self.list_tuples, "getRelationships", "Query relationships",
                      params=(*_QUERY, Param("page_size", "query", type="integer"), Param("page_token", "query")),
                      responses={200: "Relationships", 400: "ErrorGeneric", 404: "ErrorGeneric"}),
            operation("GET", "/relation-tuples/check", check, "checkPermissionOrError", "Check a permission",
                      params=tuple_q, responses=mirrored),
            operation("POST", "/relation-tuples/check", check, "postCheckPermissionOrError", "Check a permission",
                      params=tuple_q[-1:], body="PostCheckPermissionBody", responses=mirrored),
            operation("GET", "/relation-tuples/check/openapi", check_openapi, "checkPermission", "Check a permission",
                      params=tuple_q, responses=answers),
            operation("POST", "/relation-tuples/check/openapi", check_openapi, "postCheckPermission",
                      "Check a permission", params=tuple_q[-1:], body="PostCheckPermissionBody", responses=answers),
            operation("POST", "/relation-tuples/batch/check", self.batch_check, "batchCheckPermission",
                      "Check permissions in a batch", params=tuple_q[-1:], body="BatchCheckPermissionBody",
                      responses={200: "BatchCheckPermissionResult", 400: "ErrorGeneric"}),
            operation("GET", "/relation-tuples/expand", self.expand, "expandPermissions", "Expand a subject set",
                      params=(*_QUERY[:3], Param("max-depth", "query", type="integer")),
                      responses={200: "ExpandedPermissionTree", 400: "ErrorGeneric", 404: "ErrorGeneric"}),
            operation("GET", "/namespaces", self.namespaces, "listRelationshipNamespaces", "List namespaces",
                      responses={200: "RelationshipNamespaces"}),
            operation("POST", "/opl/syntax/check", self.syntax_check, "checkOplSyntax", "Check an OPL document",
                      body="OplText", responses={200: "CheckOplSyntaxResult", 400: "ErrorGeneric",
                                                 413: "ErrorGeneric"}),
        ]

    async def list_tuples(self, request: Request) -> Response:
        params = dict(request.query_params)
        page = await self.s.tuples.list(query_from_params(params), size=page_size(params.get("page_size")),
                                        token=params.get("page_token") or None)
        return json_response({"relation_tuples": [t.as_json() for t in page.tuples],
                              "next_page_token": page.next_page_token})

    def check(self, *, mirror_status: bool) -> Callable[[Request], Awaitable[Response]]:
        """Keto's check: `mirror_status` answers a denial with 403 (for `remote_json`), else always 200."""
        async def handle(request: Request) -> Response:
            if request.method == "POST":
                asked = tuple_from_json(loads_json(await read_raw(request)))
            else:
                asked = tuple_from_params(dict(request.query_params))
            allowed = await self.s.checks.check(asked, max_depth(request))
            return json_response({"allowed": allowed}, 403 if mirror_status and not allowed else 200)
        return handle

    async def batch_check(self, request: Request) -> Response:
        data = loads_json(await read_raw(request))
        tuples = data.get("tuples") if isinstance(data, dict) else None
        if not isinstance(tuples, list):
            raise BadRequest("expected {\"tuples\": [...]}")
        if len(tuples) > self.s.max_batch:
            raise BadRequest(f"batch exceeds max size of {self.s.max_batch}")
        results = await self.s.checks.check_batch([tuple_from_json(t) for t in tuples], max_depth(request))
        return json_response({"results": [{"allowed": allowed, **({"error": error} if error else {})}
                                          for allowed, error in results]})

    async def expand(self, request: Request) -> Response:
        params = request.query_params
        missing = [k for k in ("namespace", "object", "relation") if k not in params]
        if missing:
            raise BadRequest(f"missing query parameters: {', '.join(missing)}")
        self.s.namespaces().require(params["namespace"])
        tree = await self.s.expand.expand(SubjectSet(params["namespace"], params["object"], params["relation"]),
                                          max_depth(request))
        if tree is None:
            raise NotFound("no relation tuple found")
        return json_response(tree.as_json())

    async def namespaces(self, request: Request) -> Response:
        return json_response({"namespaces": [{"name": name} for name in self.s.namespaces().names()]})

    async def syntax_check(self, request: Request) -> Response:
        raw = await read_raw(request, MAX_OPL_BYTES)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("the OPL document is not UTF-8") from None
        errors = syntax_errors(text)
        return json_response({"errors": [e.as_json() for e in errors]} if errors else {})
