"""Keto's write API, served on the `admin` listener only (never on `api`):

    PUT    /admin/relation-tuples     create one tuple: 201 with the tuple
    DELETE /admin/relation-tuples?... delete every tuple the query matches (a namespace is required): 204
    PATCH  /admin/relation-tuples     [{action: insert|delete, relation_tuple}]: 204, all or nothing
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from gatekeeper.errors import BadRequest
from gatekeeper.http.common import json_response, loads_json, read_raw
from gatekeeper.http.keto.services import PermissionServices
from gatekeeper.http.openapi import Param, operation
from gatekeeper.permissions.model import QUERY_KEYS, RelationTuple, query_from_params, tuple_from_json

PATH = "/admin/relation-tuples"
MAX_PATCH_BYTES = 4 << 20
_QUERY = tuple(Param(k, "query") for k in QUERY_KEYS)


def _deltas(data: Any) -> tuple[list[RelationTuple], list[RelationTuple]]:
    """(inserts, deletes) of a PATCH body; any malformed entry refuses the whole body."""
    if not isinstance(data, list):
        raise BadRequest("expected a list of {action, relation_tuple}")
    insert: list[RelationTuple] = []
    delete: list[RelationTuple] = []
    for i, delta in enumerate(data):
        if not isinstance(delta, dict) or delta.get("relation_tuple") is None:
            raise BadRequest("relation_tuple is missing", reason=f"entry {i}")
        action = delta.get("action")
        if action not in ("insert", "delete"):
            raise BadRequest(f"unknown action {action}", reason=f"entry {i}")
        (insert if action == "insert" else delete).append(tuple_from_json(delta["relation_tuple"]))
    return insert, delete


class KetoWriteApi:
    def __init__(self, services: PermissionServices) -> None:
        self.s = services

    def routes(self) -> list[Any]:
        return [
            operation("PUT", PATH, self.create, "createRelationship", "Create a relationship",
                      body="CreateRelationshipBody", responses={201: "Relationship", 400: "ErrorGeneric",
                                                                404: "ErrorGeneric"}),
            operation("DELETE", PATH, self.delete, "deleteRelationships", "Delete relationships", params=_QUERY,
                      responses={204: None, 400: "ErrorGeneric", 404: "ErrorGeneric"}),
            operation("PATCH", PATH, self.patch, "patchRelationships", "Patch relationships (all or nothing)",
                      body="RelationshipPatchList", responses={204: None, 400: "ErrorGeneric", 404: "ErrorGeneric",
                                                               413: "ErrorGeneric"}),
        ]

    async def create(self, request: Request) -> Response:
        created = await self.s.tuples.create(tuple_from_json(loads_json(await read_raw(request))))
        location = "/relation-tuples?" + urlencode({k: v for k, v in _flat(created.as_json()).items()})
        return json_response(created.as_json(), 201, headers={"Location": location})

    async def delete(self, request: Request) -> Response:
        params = dict(request.query_params)
        extra = sorted(set(params) - set(QUERY_KEYS) - {"subject"})
        if extra:
            raise BadRequest(f"unknown query parameters: {', '.join(extra)}")
        await self.s.tuples.delete(query_from_params(params))
        return Response(status_code=204)

    async def patch(self, request: Request) -> Response:
        insert, delete = _deltas(loads_json(await read_raw(request, MAX_PATCH_BYTES)))
        await self.s.tuples.transact(insert, delete)
        return Response(status_code=204)


def _flat(data: dict[str, Any]) -> dict[str, str]:
    out = {k: v for k, v in data.items() if isinstance(v, str)}
    for key, value in (data.get("subject_set") or {}).items():
        out[f"subject_set.{key}"] = value
    return out
