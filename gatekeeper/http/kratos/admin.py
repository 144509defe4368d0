"""The admin API (Kratos' admin port, :4434): identities, sessions, courier messages.

Routes only translate HTTP to `identity.admin.AdminService` calls and back. Each route is declared with
`operation(...)`, which records its OpenAPI description next to it (api/openapi.py builds the document
from the live route list, so it cannot drift from what is served).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from gatekeeper.errors import BadRequest, GatekeeperError, NotFound, envelope
from gatekeeper.http.common import NO_CACHE, json_response, loads_json, read_raw, with_query
from gatekeeper.http.openapi import Param, operation
from gatekeeper.identity.admin import AdminService, Page, page_token, parse_uuid
from gatekeeper.identity.admin_recovery import AdminRecovery
from gatekeeper.identity.context import IdentityContext
from gatekeeper.identity.identities import rfc3339
from gatekeeper.permissions.tuples import RelationTuples
from gatekeeper.store.courier import CourierMessage

MAX_BODY = 32 * 1024 * 1024  # a batch of 1000 identities
MAX_BATCH = 1000
_ID = Param("id", "path", "The resource's id")
_PAGE = (Param("page_size", "query", "Items per page", "integer"),
         Param("page_token", "query", "Opaque token of the page to read (from the Link header)"))
_INCLUDE = Param("include_credential", "query", "Credential types whose config to include", "array")
_EXPAND = Param("expand", "query", "identity and/or devices", "array")
_ACTIVE = Param("active", "query", "Only active (true) or inactive (false) sessions", "boolean")


def delete_relationships(request: Request) -> bool:
    """The `delete_relationships` query parameter: true or false (default); anything else is a 400."""
    value = request.query_params.get("delete_relationships", "false").lower()
    if value not in ("true", "false"):
        raise BadRequest(reason=f"delete_relationships must be true or false, got {value!r}.")
    return value == "true"


async def read_json(request: Request) -> Any:
    """The JSON body (object or array); a clear 4xx for anything else."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in ("application/json", ""):
        raise BadRequest(reason="Send the body as application/json.")
    return loads_json(await read_raw(request, MAX_BODY))


def page_of(request: Request, *, default: int = 250, maximum: int = 1000) -> Page:
    raw = request.query_params.get("page_size", str(default))
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= maximum:  # str.isdigit: also "²", "١"
        raise BadRequest(reason=f"page_size must be a number between 1 and {maximum}.")
    return Page(int(raw), request.query_params.get("page_token") or None)


def link_header(request: Request, page: Page, next_token: str | None) -> str:
    """Kratos' keyset Link header: first, and next unless this is the last page."""
    base = str(request.url.remove_query_params(["page_token", "page_size"]))
    links = [f'<{with_query(base, page_size=str(page.size))}>; rel="first"']
    if next_token:
        links.append(f'<{with_query(base, page_size=str(page.size), page_token=next_token)}>; rel="next"')
    return ",".join(links)


def flag(request: Request, name: str) -> bool | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if raw.lower() not in ("true", "false"):
        raise BadRequest(reason=f"{name} must be true or false.")
    return raw.lower() == "true"


def message_json(m: CourierMessage) -> dict[str, Any]:
    """Kratos' courier `message`."""
    return {
        "id": m.id, "status": m.status, "type": m.type, "recipient": m.recipient, "body": m.body,
        "subject": m.subject, "template_type": m.template_type, "send_count": m.send_count, "channel": m.channel,
        "created_at": rfc3339(m.created_at), "updated_at": rfc3339(m.updated_at),
        "dispatches": [{"id": d.id, "message_id": d.message_id, "status": d.status, "error": d.error,
                        "created_at": rfc3339(d.created_at), "updated_at": rfc3339(d.updated_at)}
                       for d in m.dispatches],
    }


class AdminApi:
    """`relationships`: Keto's tuples, for `DELETE /admin/identities/{id}?delete_relationships=true`."""

    def __init__(self, ctx: IdentityContext, service: AdminService, recovery: AdminRecovery,
                 relationships: RelationTuples | None = None) -> None:
        self.ctx, self.service, self.recovery, self.relationships = ctx, service, recovery, relationships

    def base(self, request: Request) -> str:
        configured = self.ctx.config.serve.admin.base_url
        return (configured or str(request.base_url)).rstrip("/")

    # -- identities --------------------------------------------------------------------------------------

    async def list_identities(self, request: Request) -> Response:
        q = request.query_params
        page = page_of(request, maximum=500)
        ids = q.getlist("ids") or None
        found = await self.service.list_identities(page, identifier=q.get("credentials_identifier"),
                                        similar=q.get("preview_credentials_identifier_similar"), ids=ids)
        include = tuple(q.getlist("include_credential"))
        body = [self.service.to_json(i, include) for i in found]
        nxt = found[-1].id if len(found) == page.size and ids is None else None
        return json_response(body, headers={"Link": link_header(request, page, nxt)})

    async def create_identity(self, request: Request) -> Response:
        ident = await self.service.create(await read_json(request))
        return json_response(self.service.to_json(ident), status=201,
                             headers={"Location": f"{self.base(request)}/identities/{ident.id}"})

    async def get_identity(self, request: Request) -> Response:
        ident = await self.service.get(request.path_params["id"])
        return json_response(self.service.to_json(ident, tuple(request.query_params.getlist("include_credential"))))

    async def get_by_external_id(self, request: Request) -> Response:
        ident = await self.service.by_external_id(request.path_params["external_id"])
        return json_response(self.service.to_json(ident, tuple(request.query_params.getlist("include_credential"))))

    async def update_identity(self, request: Request) -> Response:
        ident = await self.service.replace(request.path_params["id"], await read_json(request))
        return json_response(self.service.to_json(ident))

    async def patch_identity(self, request: Request) -> Response:
        ident = await self.service.patch(request.path_params["id"], await read_json(request))
        return json_response(self.service.to_json(ident))

    async def delete_identity(self, request: Request) -> Response:
        """Kratos' delete; with `?delete_relationships=true` (gatekeeper) the tuples whose subject_id is the
        identity's id go first, so a failure leaves the identity to delete again."""
        identity_id = request.path_params["id"]
        if delete_relationships(request) and self.relationships is not None:
            ident = await self.service.get(identity_id)
            await self.relationships.delete_subject(ident.id)
        await self.service.delete(identity_id)
        return Response(status_code=204, headers={"Cache-Control": NO_CACHE})

    async def delete_credential(self, request: Request) -> Response:
        await self.service.delete_credential(request.path_params["id"], request.path_params["type"])
        return Response(status_code=204, headers={"Cache-Control": NO_CACHE})

    async def batch_patch(self, request: Request) -> Response:
        """Kratos' batchPatchIdentities: create each item on its own; per-item results."""
        body = await read_json(request)
        items = body.get("identities") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise BadRequest(reason='The body must be {"identities": [{"create": {...}, "patch_id": "..."}]}.')
        if len(items) > MAX_BATCH:
            raise BadRequest(reason=f"A batch holds at most {MAX_BATCH} identities.")
        results, statuses = [], []
        for item in items:
            patch_id = item.get("patch_id") if isinstance(item, dict) else None
            result: dict[str, Any] = {"patch_id": patch_id} if isinstance(patch_id, str) else {}
            try:
                if not isinstance(item, dict) or not isinstance(item.get("create"), dict):
                    raise BadRequest(reason="Each item needs a create object.")
                ident = await self.service.create(item["create"])
                result.update(action="create", identity=ident.id)
                statuses.append(201)
            except GatekeeperError as exc:
                error = envelope(exc.status, exc.message, error_id=exc.error_id, reason=exc.reason)["error"]
                result.update(action="error", error=error)
                statuses.append(exc.status)
            results.append(result)
        if statuses and all(s >= 400 for s in statuses):
            worst = 409 if 409 in statuses else 400
            return json_response({"identities": results}, status=worst)
        return json_response({"identities": results})

    # -- sessions ------------------------------------------------------------------------------------------

    async def _sessions(self, request: Request, identity_id: str | None) -> Response:
        page = page_of(request)
        expand = tuple(request.query_params.getlist("expand")) if identity_id is None else ("identity", "devices")
        found = await self.service.sessions(page, active=flag(request, "active"), identity_id=identity_id)
        cache: dict[str, Any] = {}
        body = [await self.service.session_json(s, expand, cache) for s in found]
        nxt = found[-1].id if len(found) == page.size else None
        return json_response(body, headers={"Link": link_header(request, page, nxt)})

    async def list_sessions(self, request: Request) -> Response:
        return await self._sessions(request, None)

    async def identity_sessions(self, request: Request) -> Response:
        return await self._sessions(request, request.path_params["id"])

    async def get_session(self, request: Request) -> Response:
        rec = await self.service.session(request.path_params["id"])
        return json_response(await self.service.session_json(rec, tuple(request.query_params.getlist("expand"))))

    async def disable_session(self, request: Request) -> Response:
        await self.service.revoke_session(request.path_params["id"])
        return Response(status_code=204, headers={"Cache-Control": NO_CACHE})

    async def delete_identity_sessions(self, request: Request) -> Response:
        await self.service.delete_sessions(request.path_params["id"])
        return Response(status_code=204, headers={"Cache-Control": NO_CACHE})

    async def extend_session(self, request: Request) -> Response:
        await self.service.extend_session(request.path_params["id"])
        return Response(status_code=204, headers={"Cache-Control": NO_CACHE})

    # -- courier -------------------------------------------------------------------------------------------

    async def list_messages(self, request: Request) -> Response:
        q = request.query_params
        page = page_of(request)
        status = q.get("status")
        if status is not None and status not in ("queued", "processing", "sent", "abandoned"):
            raise BadRequest(reason="status must be queued, processing, sent or abandoned.")
        after = None
        if page.token:
            prev = await self.ctx.store.courier_message(page_token(page.token) or "")
            if prev is None:
                raise BadRequest(reason="page_token is not valid.")
            after = (prev.created_at, prev.id)
        found = await self.ctx.store.courier_messages(status=status, recipient=q.get("recipient"),  # type: ignore
                                                      limit=page.size, after=after)
        nxt = found[-1].id if len(found) == page.size else None
        return json_response([message_json(m) for m in found], headers={"Link": link_header(request, page, nxt)})

    async def get_message(self, request: Request) -> Response:
        found = await self.ctx.store.courier_message(parse_uuid(request.path_params["id"], "courier message"))
        if found is None:
            raise NotFound(reason="No courier message with this id exists.")
        return json_response(message_json(found))

    async def _recovery_body(self, request: Request) -> tuple[Any, dict[str, Any]]:
        body = await read_json(request)
        if not isinstance(body, dict) or not isinstance(body.get("identity_id"), str):
            raise BadRequest(reason="The body must be a JSON object with identity_id.")
        return await self.service.get(body["identity_id"]), body

    async def recovery_code(self, request: Request) -> Response:
        ident, body = await self._recovery_body(request)
        return json_response(await self.recovery.code(ident, body), status=201)

    async def recovery_link(self, request: Request) -> Response:
        ident, body = await self._recovery_body(request)
        return_to = request.query_params.get("return_to")
        return json_response(await self.recovery.link(ident, body, return_to))

    def routes(self) -> list[BaseRoute]:
        idp = "/admin/identities/{id}"
        return [
            operation("GET", "/admin/identities", self.list_identities, "listIdentities", "List identities",
                      params=(*_PAGE, Param("credentials_identifier", "query", "Exact credential identifier"),
                              Param("preview_credentials_identifier_similar", "query", "Identifier prefix"),
                              Param("ids", "query", "Identity ids", "array"), _INCLUDE),
                      responses={200: "IdentityList"}),
            operation("POST", "/admin/identities", self.create_identity, "createIdentity", "Create an identity",
                      body="CreateIdentityBody", responses={201: "Identity", 409: "ErrorGeneric"}),
            operation("PATCH", "/admin/identities", self.batch_patch, "batchPatchIdentities",
                      "Create many identities", body="PatchIdentitiesBody",
                      responses={200: "BatchPatchIdentitiesResponse", 400: "BatchPatchIdentitiesResponseOrError",
                                 409: "BatchPatchIdentitiesResponse"}),
            operation("GET", idp, self.get_identity, "getIdentity", "Get an identity", params=(_ID, _INCLUDE),
                      responses={200: "Identity", 404: "ErrorGeneric"}),
            operation("GET", "/admin/identities/by/external/{external_id}", self.get_by_external_id,
                      "getIdentityByExternalID", "Get an identity by its external id",
                      params=(Param("external_id", "path", "The external id"), _INCLUDE),
                      responses={200: "Identity", 404: "ErrorGeneric"}),
            operation("PUT", idp, self.update_identity, "updateIdentity", "Replace an identity", params=(_ID,),
                      body="UpdateIdentityBody", responses={200: "Identity", 404: "ErrorGeneric",
                                                            409: "ErrorGeneric"}),
            operation("PATCH", idp, self.patch_identity, "patchIdentity", "JSON-Patch an identity", params=(_ID,),
                      body="JsonPatchDocument", responses={200: "Identity", 404: "ErrorGeneric",
                                                           409: "ErrorGeneric"}),
            operation("DELETE", idp, self.delete_identity, "deleteIdentity", "Delete an identity",
                      params=(_ID, Param("delete_relationships", "query",
                                         "gatekeeper: also delete the relation tuples whose subject_id is the "
                                         "identity's id", "boolean")),
                      responses={204: None, 404: "ErrorGeneric"}),
            operation("DELETE", idp + "/credentials/{type}", self.delete_credential, "deleteIdentityCredentials",
                      "Delete one credential of an identity",
                      params=(_ID, Param("type", "path", "Credential type"),
                              Param("identifier", "query", "oidc/saml identifier")),
                      responses={204: None, 404: "ErrorGeneric"}),
            operation("GET", idp + "/sessions", self.identity_sessions, "listIdentitySessions",
                      "List an identity's sessions", params=(_ID, *_PAGE, _ACTIVE),
                      responses={200: "SessionList", 404: "ErrorGeneric"}),
            operation("DELETE", idp + "/sessions", self.delete_identity_sessions, "deleteIdentitySessions",
                      "Delete an identity's sessions", params=(_ID,), responses={204: None, 404: "ErrorGeneric"}),
            operation("GET", "/admin/sessions", self.list_sessions, "listSessions", "List sessions",
                      params=(*_PAGE, _ACTIVE, _EXPAND), responses={200: "SessionList"}),
            operation("GET", "/admin/sessions/{id}", self.get_session, "getSession", "Get a session",
                      params=(_ID, _EXPAND), responses={200: "Session", 404: "ErrorGeneric"}),
            operation("DELETE", "/admin/sessions/{id}", self.disable_session, "disableSession",
                      "Deactivate a session", params=(_ID,), responses={204: None, 404: "ErrorGeneric"}),
            operation("PATCH", "/admin/sessions/{id}/extend", self.extend_session, "extendSession",
                      "Extend a session", params=(_ID,), responses={204: None, 404: "ErrorGeneric"}),
            operation("GET", "/admin/courier/messages", self.list_messages, "listCourierMessages",
                      "List courier messages",
                      params=(*_PAGE, Param("status", "query", "queued, processing, sent or abandoned"),
                              Param("recipient", "query", "Recipient address")),
                      responses={200: "MessageList"}),
            operation("GET", "/admin/courier/messages/{id}", self.get_message, "getCourierMessage",
                      "Get a courier message", params=(_ID,), responses={200: "Message", 404: "ErrorGeneric"}),
            operation("POST", "/admin/recovery/link", self.recovery_link, "createRecoveryLinkForIdentity",
                      "Create a recovery link", body="CreateRecoveryBody",
                      params=(Param("return_to", "query", "Where the browser goes after recovery"),),
                      responses={200: "RecoveryLinkForIdentity", 404: "ErrorGeneric"}),
            operation("POST", "/admin/recovery/code", self.recovery_code, "createRecoveryCodeForIdentity",
                      "Create a recovery code", body="CreateRecoveryBody",
                      responses={201: "RecoveryCodeForIdentity", 404: "ErrorGeneric"}),
        ]
