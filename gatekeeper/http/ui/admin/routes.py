"""Admin UI routes (/admin/ui on the admin listener): list and search identities, view one, change its state,
delete it (optionally with its relationships), revoke its sessions, add and remove its relationships (Keto's
tuples whose subject_id is the identity's id). Every change is a POST with a double-submit CSRF token
(identity/csrf.py); pages answer 303 back to where the operator was, with a notice. No JavaScript.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlencode

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gatekeeper.asgi import ROUTE_KEY
from gatekeeper.errors import BadRequest, GatekeeperError, NotFound
from gatekeeper.http.ui import SECURITY_HEADERS, stylesheet
from gatekeeper.identity import csrf
from gatekeeper.identity.admin import AdminService, Page
from gatekeeper.identity.admin_recovery import AdminRecovery
from gatekeeper.identity.context import IdentityContext
from gatekeeper.identity.errors import CsrfViolation
from gatekeeper.permissions.model import RelationQuery, RelationTuple
from gatekeeper.permissions.namespaces import NamespaceSet
from gatekeeper.permissions.tuples import RelationTuples

ROOT = "/admin/ui"
CSRF_COOKIE = "gatekeeper_admin_csrf"
PAGE_SIZE = 50
RELATIONSHIPS = 100  # shown on an identity's page (the API lists them all: GET /relation-tuples?subject_id=)
_CSP = {**SECURITY_HEADERS, "Content-Security-Policy": "default-src 'none'; style-src 'self'; form-action 'self'; "
                                                       "frame-ancestors 'none'; base-uri 'none'"}


@cache
def _env() -> jinja2.Environment:
    loader = jinja2.ChoiceLoader([jinja2.PackageLoader("gatekeeper.http.ui.admin", "templates"),
                                  jinja2.PackageLoader("gatekeeper.http.ui", "templates")])
    return jinja2.Environment(loader=loader, autoescape=jinja2.select_autoescape(default=True),
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _label(identity: dict[str, Any]) -> str:
    traits = identity.get("traits") or {}
    for key in ("email", "username", "phone"):
        if isinstance(traits.get(key), str):
            return str(traits[key])
    idents = [i for c in (identity.get("credentials") or {}).values() for i in c.get("identifiers", [])]
    return idents[0] if idents else str(identity["id"])


def _metadata(public: Any, admin: Any) -> str:
    shown = {k: v for k, v in (("metadata_public", public), ("metadata_admin", admin)) if v is not None}
    return json.dumps(shown, indent=2, ensure_ascii=False) if shown else ""


class AdminUi:
    """`relationships` and `namespaces`: Keto's tuples and the namespaces to offer (None: no relationship UI)."""

    def __init__(self, ctx: IdentityContext, service: AdminService, recovery: AdminRecovery,
                 relationships: RelationTuples | None = None,
                 namespaces: Callable[[], NamespaceSet] | None = None) -> None:
        self.ctx, self.service, self.recovery = ctx, service, recovery
        self.relationships, self.namespaces = relationships, namespaces
        self._css = stylesheet()
        self._admin_css = resources.files("gatekeeper.http.ui.admin").joinpath("static/admin.css").read_text("utf-8")

    def page(self, request: Request, template: str, status: int = 200, **values: Any) -> Response:
        token = request.cookies.get(CSRF_COOKIE) or ""
        fresh = not csrf.verify(token, token)
        if fresh:
            token = csrf.new_token()
        html = _env().get_template(template).render(root=ROOT, csrf=csrf.mask(token),
                                                     notice=request.query_params.get("notice", ""), **values)
        resp = HTMLResponse(html, status_code=status, headers=_CSP)
        if fresh:
            resp.set_cookie(CSRF_COOKIE, token, path=ROOT, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https")
        return resp

    async def checked_form(self, request: Request) -> dict[str, str]:
        form = await request.form(max_files=0, max_fields=20)
        values = {k: v for k, v in form.items() if isinstance(v, str)}
        if not csrf.verify(request.cookies.get(CSRF_COOKIE), values.get("csrf_token")):
            raise CsrfViolation("The form's anti-CSRF token is missing or does not match: reload the page.")
        return values

    # -- pages -------------------------------------------------------------------------------------------

    async def index(self, request: Request) -> Response:
        return RedirectResponse(f"{ROOT}/identities", status_code=303)

    async def identities(self, request: Request) -> Response:
        q = request.query_params.get("q", "").strip()
        token = request.query_params.get("page_token") or None
        found = await self.service.list_identities(Page(PAGE_SIZE, token), similar=q or None)
        rows = []
        for ident in found:
            data = self.service.to_json(ident)
            rows.append({"id": ident.id, "label": _label(data), "state": ident.state, "schema_id": ident.schema_id,
                         "created_at": data["created_at"][:19].replace("T", " ")})
        next_url = None
        if len(found) == PAGE_SIZE:
            next_url = f"{ROOT}/identities?" + urlencode({"q": q, "page_token": found[-1].id})
        return self.page(request, "admin_identities.html", identities=rows, q=q, next_url=next_url)

    async def identity(self, request: Request) -> Response:
        ident = await self.service.get(request.path_params["id"])
        data = self.service.to_json(ident)
        found = await self.service.sessions(Page(100, None), identity_id=ident.id)
        sessions = [await self.service.session_json(s, ("devices",), {ident.id: ident}) for s in found]
        for s in sessions:
            for key in ("issued_at", "expires_at"):
                s[key] = s[key][:19].replace("T", " ")
        relationships = None
        if self.relationships is not None:
            found_tuples = await self.relationships.list(RelationQuery(subject=ident.id), size=RELATIONSHIPS,
                                                         token=None)
            relationships = found_tuples.tuples
        return self.page(request, "admin_identity.html", identity=data, label=_label(data),
                         traits=json.dumps(ident.traits, indent=2, ensure_ascii=False), sessions=sessions,
                         metadata=_metadata(ident.metadata_public, ident.metadata_admin),
                         recovery=self.recovery.flows is not None, relationships=relationships,
                         namespaces=self.namespaces().names() if self.namespaces is not None else [])

    # -- actions -----------------------------------------------------------------------------------------

    def back(self, path: str, notice: str) -> Response:
        return RedirectResponse(f"{ROOT}{path}?" + urlencode({"notice": notice}), status_code=303)

    async def set_state(self, request: Request) -> Response:
        form = await self.checked_form(request)
        state = form.get("state", "")
        if state not in ("active", "inactive"):
            raise BadRequest(reason='state must be "active" or "inactive".')
        ident = await self.service.set_state(request.path_params["id"], state)
        text = "Identity activated." if state == "active" else "Identity deactivated; its sessions were revoked."
        return self.back(f"/identities/{ident.id}", text)

    async def delete(self, request: Request) -> Response:
        form = await self.checked_form(request)
        if form.get("delete_relationships") == "true" and self.relationships is not None:
            ident = await self.service.get(request.path_params["id"])  # as the admin API: tuples first
            count = await self.relationships.delete_subject(ident.id)
            await self.service.delete(ident.id)
            return self.back("/identities", f"Identity deleted with {count} relationship(s).")
        await self.service.delete(request.path_params["id"])
        return self.back("/identities", "Identity deleted.")

    async def relationship(self, request: Request, *, add: bool) -> Response:
        form = await self.checked_form(request)
        if self.relationships is None:
            raise NotFound(reason="relationships are not available")
        ident = await self.service.get(request.path_params["id"])
        namespace, object_, relation = (form.get(k, "").strip() for k in ("namespace", "object", "relation"))
        if not (namespace and object_ and relation):
            raise BadRequest(reason="A relationship needs a namespace, an object and a relation.")
        asked = RelationTuple(namespace, object_, relation, ident.id)
        if add:
            await self.relationships.create(asked)
        else:
            await self.relationships.transact([], [asked])
        verb = "added" if add else "removed"
        return self.back(f"/identities/{ident.id}", f"Relationship {asked.namespace}:{asked.object}#"
                                                    f"{asked.relation} {verb}.")

    async def add_relationship(self, request: Request) -> Response:
        return await self.relationship(request, add=True)

    async def remove_relationship(self, request: Request) -> Response:
        return await self.relationship(request, add=False)

    async def revoke_all(self, request: Request) -> Response:
        await self.checked_form(request)
        ident = await self.service.get(request.path_params["id"])
        count = await self.ctx.sessions.revoke_all(ident.id)
        return self.back(f"/identities/{ident.id}", f"{count} session(s) revoked.")

    async def revoke_one(self, request: Request) -> Response:
        await self.checked_form(request)
        rec = await self.service.session(request.path_params["id"])
        await self.ctx.sessions.revoke(rec.id)
        return self.back(f"/identities/{rec.identity_id}", "Session revoked.")

    async def send_recovery(self, request: Request) -> Response:
        await self.checked_form(request)
        ident = await self.service.get(request.path_params["id"])
        address = await self.recovery.send(ident)
        return self.back(f"/identities/{ident.id}", f"A recovery code was sent to {address}.")

    async def css(self, request: Request) -> Response:
        text = self._css if request.url.path.endswith("/style.css") else self._admin_css
        return Response(text, media_type="text/css", headers={**_CSP, "Cache-Control": "public, max-age=3600"})

    def routes(self) -> list[BaseRoute]:
        def named(path: str, fn: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
            async def handle(request: Request) -> Response:
                request.scope[ROUTE_KEY] = ROOT + path
                try:
                    return await fn(request)
                except GatekeeperError as exc:
                    return self.error_page(request, exc)
            return handle

        table = [
            ("", self.index, "GET"), ("/identities", self.identities, "GET"),
            ("/identities/{id}", self.identity, "GET"), ("/identities/{id}/state", self.set_state, "POST"),
            ("/identities/{id}/delete", self.delete, "POST"),
            ("/identities/{id}/recovery", self.send_recovery, "POST"),
            ("/identities/{id}/relationships", self.add_relationship, "POST"),
            ("/identities/{id}/relationships/delete", self.remove_relationship, "POST"),
            ("/identities/{id}/sessions/revoke", self.revoke_all, "POST"),
            ("/sessions/{id}/revoke", self.revoke_one, "POST"),
            ("/static/style.css", self.css, "GET"), ("/static/admin.css", self.css, "GET"),
        ]
        return [Route(ROOT + path, named(path, fn), methods=[method]) for path, fn, method in table]

    def error_page(self, request: Request, exc: GatekeeperError) -> Response:
        message = exc.reason or exc.message
        if isinstance(exc, CsrfViolation):
            message = exc.details.get("reject_reason", message)
        elif isinstance(exc, NotFound):
            message = "Not found: " + message
        return self.page(request, "admin_error.html", status=exc.status, message=message)

