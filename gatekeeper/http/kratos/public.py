"""The public identity API (Kratos' public port): routes translate HTTP to identity service calls.

Served at the root of the public listener and, on the proxy listener, under `serve.proxy.identity_prefix`
(the same routes; every URL we hand out comes from `serve.public.base_url`).
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from gatekeeper.asgi import ROUTE_KEY
from gatekeeper.errors import BadRequest, Forbidden, GatekeeperError, NotFound, StoreError, envelope
from gatekeeper.http.common import (
    NO_CACHE,
    endpoint,
    gatekeeper_error_response,
    json_response,
    read_body,
    redirect,
    session_credential,
    wants_json,
    with_query,
)
from gatekeeper.http.common import client_info as _client_info
from gatekeeper.http.kratos.flows import address_response, link_route
from gatekeeper.http.ui import render_error, render_logout
from gatekeeper.identity import aal, csrf, token_exchange
from gatekeeper.identity.client import ClientInfo
from gatekeeper.identity.context import IdentityContext
from gatekeeper.identity.errors import (
    CannotRevokeCurrentSession,
    NoActiveSession,
    SessionAlreadyAvailable,
    SessionInactive,
)
from gatekeeper.identity.flows.base import Flow, FlowType, Outcome
from gatekeeper.identity.flows.bundle import FlowHandlers
from gatekeeper.identity.flows.handler import Current, FlowHandler
from gatekeeper.identity.flows.verification import AddressFlows
from gatekeeper.identity.identities import rfc3339
from gatekeeper.identity.oidc.errors import BrowserLocationChangeRequired
from gatekeeper.identity.ports import ProviderLogout
from gatekeeper.identity.webauthn import script as webauthn_script
from gatekeeper.identity.whoami import Whoami


class PublicApi:
    """Route handlers over the identity context and the flow handlers."""

    def __init__(self, ctx: IdentityContext, flows: FlowHandlers, whoami: Whoami,
                 provider_logout: ProviderLogout | None = None) -> None:
        self.ctx, self.flows, self.whoami, self.provider_logout = ctx, flows, whoami, provider_logout
        cfg = ctx.config
        self.cookie = cfg.session.cookie
        self.secure = self.cookie.secure if self.cookie.secure is not None else not cfg.dev

    # -- shared pieces ---------------------------------------------------------------------------------

    def client(self, request: Request) -> ClientInfo:
        return _client_info(request, self.ctx.public_base_url)

    async def current(self, request: Request) -> Current:
        return await self.ctx.sessions.current(session_credential(request, self.cookie.name))

    def set_session_cookie(self, resp: Response, token: str, expires_at: datetime) -> None:
        max_age = int((expires_at - datetime.now(UTC)).total_seconds()) if self.cookie.persistent else None
        resp.set_cookie(self.cookie.name, self.ctx.sessions.cookie_value(token), max_age=max_age,
                        path=self.cookie.path or "/", domain=self.cookie.domain or None, secure=self.secure,
                        httponly=True, samesite=self.cookie.same_site.lower())  # type: ignore[arg-type]

    def clear_session_cookie(self, resp: Response) -> None:
        resp.delete_cookie(self.cookie.name, path=self.cookie.path or "/", domain=self.cookie.domain or None,
                           secure=self.secure, httponly=True,
                           samesite=self.cookie.same_site.lower())  # type: ignore[arg-type]

    def set_csrf_cookie(self, resp: Response, token: str) -> None:
        resp.set_cookie(self.ctx.csrf_cookie, token, max_age=365 * 24 * 3600, path="/",
                        domain=self.cookie.domain or None, secure=self.secure, httponly=True,
                        samesite=self.cookie.same_site.lower())  # type: ignore[arg-type]

    async def browser_error(self, request: Request, exc: GatekeeperError) -> Response:
        """Browser (HTML) requests never see raw JSON errors: already signed in -> return; else the error UI."""
        if isinstance(exc, SessionAlreadyAvailable):
            raw = request.query_params.get("return_to")
            try:
                target = self.ctx.return_to.check(raw) or self.ctx.default_return_url
            except GatekeeperError:
                target = self.ctx.default_return_url
            return redirect(target)
        if exc.browser_redirect:  # re-authenticate / second factor / sign in first
            return redirect(exc.browser_redirect)
        error_id = str(uuid.uuid4())
        reason = "" if isinstance(exc, StoreError) else exc.reason  # driver details stay in the logs
        body = envelope(exc.status, exc.message, error_id=exc.error_id, reason=reason, details=exc.details)
        try:
            await self.ctx.store.insert_flow_error(error_id, body["error"], datetime.now(UTC))
        except StoreError:  # cannot keep it for the error page: show it right here
            return render_error(self.ctx, body["error"], status=exc.status)
        return redirect(with_query(self.ctx.ui_url("error"), id=error_id))

    # -- flows -----------------------------------------------------------------------------------------

    def flow_routes(self, kind: str) -> list[BaseRoute]:
        handler = self.flows.by_kind(kind)
        assert handler is not None
        browser_errors = self.browser_error

        @endpoint(f"/self-service/{kind}/browser", browser_errors=browser_errors)
        async def init_browser(request: Request) -> Response:
            params = dict(request.query_params)
            outcome = await handler.init(FlowType.BROWSER, self.client(request), params, await self.current(request))
            assert outcome.flow is not None and outcome.csrf_cookie is not None
            resp = (json_response(outcome.flow.to_json()) if wants_json(request)
                    else redirect(handler.flows.ui_redirect(outcome.flow.id)))
            self.set_csrf_cookie(resp, outcome.csrf_cookie)
            return resp

        @endpoint(f"/self-service/{kind}/api")
        async def init_api(request: Request) -> Response:
            outcome = await handler.init(FlowType.API, self.client(request), dict(request.query_params),
                                         await self.current(request))
            assert outcome.flow is not None
            return json_response(outcome.flow.to_json())

        @endpoint(f"/self-service/{kind}/flows")
        async def get_flow(request: Request) -> Response:
            flow = await handler.fetch(request.query_params.get("id"), self.client(request))
            return json_response(flow.to_json())

        @endpoint(f"/self-service/{kind}", browser_errors=browser_errors)
        async def submit(request: Request) -> Response:
            body = await read_body(request)
            client = self.client(request)
            outcome = await handler.submit(request.query_params.get("flow"), body, client,
                                           await self.current(request),
                                           csrf_header=request.headers.get("x-csrf-token"))
            return self.submit_response(handler, outcome, client)

        return [
            Route(f"/self-service/{kind}/browser", init_browser, methods=["GET"]),
            Route(f"/self-service/{kind}/api", init_api, methods=["GET"]),
            Route(f"/self-service/{kind}/flows", get_flow, methods=["GET"]),
            Route(f"/self-service/{kind}", submit, methods=["POST"]),
        ]

    def submit_response(self, handler: FlowHandler, outcome: Outcome, client: ClientInfo) -> Response:
        """Kratos' response matrix for a submit's outcome (browser vs API flows, HTML vs JSON)."""
        if isinstance(handler, AddressFlows):  # verification and recovery have their own matrix
            return address_response(self, handler, outcome, client)
        flow = outcome.flow
        assert flow is not None
        html = flow.is_browser and not client.wants_json
        if outcome.restarted or outcome.status == 400:
            resp = (redirect(handler.flows.ui_redirect(flow.id)) if html
                    else json_response(flow.to_json(), status=400))
        elif html:
            resp = redirect(outcome.return_to or self.ctx.default_return_url)
        elif flow.is_browser and outcome.aal2_pending and outcome.return_to:
            # Kratos: the SPA is told to navigate to the second factor (the session cookie is still set)
            resp = gatekeeper_error_response(BrowserLocationChangeRequired(outcome.return_to))
        else:
            resp = json_response(self.success_body(flow, outcome))
        if outcome.csrf_cookie:
            self.set_csrf_cookie(resp, outcome.csrf_cookie)
        if flow.is_browser and outcome.session is not None and outcome.token is not None:
            # a new principal rotates the CSRF token; the session cookie comes last, as Kratos sends them
            # (clients that keep one Set-Cookie header per response, like the Python SDK, keep the session)
            self.set_csrf_cookie(resp, csrf.new_token())
            self.set_session_cookie(resp, outcome.token, outcome.session.expires_at)
        return resp

    def success_body(self, flow: Flow, outcome: Outcome) -> dict[str, Any]:
        body: dict[str, Any] = {}
        continue_with: list[dict[str, Any]] = list(outcome.continue_with)  # from hooks
        if flow.kind == "registration":
            assert outcome.identity is not None
            body["identity"] = self.ctx.identities.to_json(outcome.identity)
        if outcome.session is not None and outcome.identity is not None:
            body["session"] = self.ctx.sessions.to_json(outcome.session, outcome.identity)
            if outcome.aal2_pending:
                body["session"]["identity"] = None  # Kratos: not before the second factor (phishing)
            if flow.type == FlowType.API and outcome.token:
                body["session_token"] = outcome.token
                if flow.kind == "registration":
                    continue_with.append({"action": "set_ory_session_token", "ory_session_token": outcome.token})
        if flow.is_browser:
            continue_with.append({"action": "redirect_browser_to",
                                  "redirect_browser_to": outcome.return_to or self.ctx.default_return_url})
        body["continue_with"] = continue_with or None
        return body

    # -- sessions --------------------------------------------------------------------------------------

    async def require_session(self, request: Request) -> tuple[Any, Any]:
        """The caller's session for /sessions; 403 session_aal2_required when it owes its second factor."""
        current = await self.current(request)
        if current is None:
            raise NoActiveSession()
        aal.require_aal(self.ctx.config.session.whoami.required_aal, current[0], current[1], self.ctx.public_base_url,
                        code_mfa=self.ctx.config.selfservice.methods.code.mfa_enabled)
        return current

    async def exchange_session_token(self, request: Request) -> Response:
        """Kratos' `GET /sessions/token-exchange`: a native app's session token after social sign-in."""
        init, code = request.query_params.get("init_code", ""), request.query_params.get("return_to_code", "")
        if not init or not code:
            raise BadRequest(reason='"init_code" and "return_to_code" query params must be set')
        token = await token_exchange.redeem(self.ctx, init, code)
        found = await self.ctx.sessions.current(token) if token else None
        if found is None:
            raise NotFound(reason='no session yet for this "code"')
        return json_response({"session_token": token, "session": self.ctx.sessions.to_json(*found)})

    async def list_sessions(self, request: Request) -> Response:
        rec, ident = await self.require_session(request)
        size, offset = _page(request)
        others = await self.ctx.sessions.others(ident.id, rec.id)
        out = []
        for s in others[offset:offset + size]:
            data = self.ctx.sessions.to_json(s, ident)
            data.pop("identity", None)
            out.append(data)
        base = f"{self.ctx.public_base_url}/sessions"
        links = [f'<{with_query(base, page_size=str(size), page_token=_token(0))}>; rel="first"']
        if offset + size < len(others):
            links.append(f'<{with_query(base, page_size=str(size), page_token=_token(offset + size))}>; rel="next"')
        return json_response(out, headers={"Link": ",".join(links)})

    async def revoke_others(self, request: Request) -> Response:
        rec, ident = await self.require_session(request)
        return json_response({"count": await self.ctx.sessions.revoke_others(ident.id, rec.id)})

    async def revoke_one(self, request: Request) -> Response:
        rec, ident = await self.require_session(request)
        session_id = request.path_params["id"]
        if session_id == rec.id:
            raise CannotRevokeCurrentSession()
        if not await self.ctx.sessions.revoke(session_id, identity_id=ident.id):
            raise NotFound(reason="No session with this id belongs to you.")
        return Response(status_code=204, headers={"Cache-Control": NO_CACHE})

    # -- logout ----------------------------------------------------------------------------------------

    async def logout_browser(self, request: Request) -> Response:
        current = await self.ctx.sessions.current(request.cookies.get(self.cookie.name))
        if current is None:
            raise SessionInactive()
        return_to = self.ctx.return_to.check(request.query_params.get("return_to"))
        token = await self.ctx.sessions.logout_token_for(current[0])
        url = with_query(f"{self.ctx.public_base_url}/self-service/logout", token=token, return_to=return_to)
        if not wants_json(request):
            return render_logout(self.ctx, url)
        return json_response({"logout_url": url, "logout_token": token})

    async def logout(self, request: Request) -> Response:
        """Kratos' updateLogoutFlow: the token must belong to the session of the cookie sent with it."""
        token = request.query_params.get("token", "")
        if not token:
            raise BadRequest(reason="Please include a token in the URL query.")
        return_to = self.ctx.return_to.check(request.query_params.get("return_to"))
        current = await self.ctx.sessions.current(request.cookies.get(self.cookie.name))
        if current is None:
            raise SessionInactive()
        rec = await self.ctx.sessions.by_logout_token(token)
        if rec is None or rec.id != current[0].id:
            raise Forbidden(reason="Unable to log out because the logout token in the URL query does not match the "
                                   "session cookie.")
        await self.ctx.sessions.revoke(rec.id)
        if wants_json(request):
            resp: Response = Response(status_code=204, headers={"Cache-Control": NO_CACHE})
        else:
            after = self.ctx.config.selfservice.flows.logout.after.default_browser_return_url
            final = return_to or after or self.ctx.default_return_url
            at_provider = await self.provider_logout.end_session_url(rec, current[1], final) \
                if self.provider_logout is not None else None
            resp = redirect(at_provider or final)
        self.clear_session_cookie(resp)
        self.set_csrf_cookie(resp, csrf.new_token())
        return resp

    async def logout_api(self, request: Request) -> Response:
        body = await read_body(request)
        token = body.get("session_token")
        if not isinstance(token, str) or not token:
            raise BadRequest(reason="The request body must carry the session_token to revoke.")
        found = await self.ctx.sessions.current(token)
        if found is None:
            raise Forbidden(reason="The provided Ory Session Token could not be found, is invalid, or otherwise "
                                   "malformed.")
        await self.ctx.sessions.revoke(found[0].id)
        return Response(status_code=204, headers={"Cache-Control": NO_CACHE})

    # -- schemas and errors ------------------------------------------------------------------------------

    async def list_schemas(self, request: Request) -> Response:
        return json_response([{"id": s.id, "schema": s.raw} for s in self.ctx.schemas.all()])

    async def get_schema(self, request: Request) -> Response:
        wanted = request.path_params["id"]
        schema = self.ctx.schemas.get(wanted)
        if schema is None:
            try:
                decoded = base64.b64decode(wanted + "=" * (-len(wanted) % 4), altchars=b"-_", validate=True)
                schema = self.ctx.schemas.get(decoded.decode())
            except (binascii.Error, UnicodeDecodeError, ValueError):
                schema = None
        if schema is None:
            raise NotFound(reason="The requested identity schema does not exist.")
        return Response(json.dumps(schema.raw), media_type="application/json", headers={"Cache-Control": NO_CACHE})

    async def webauthn_js(self, request: Request) -> Response:
        """The script Kratos UIs load for passkeys and security keys (the `webauthn_script` node)."""
        return Response(webauthn_script.source(), media_type="text/javascript; charset=UTF-8")

    async def get_error(self, request: Request) -> Response:
        error_id = request.query_params.get("id", "")
        now = rfc3339(datetime.now(UTC))
        if error_id == "stub:500":
            error = envelope(500, "This is a stub error.", reason="This is a stub error.")["error"]
            return json_response({"id": error_id, "error": error, "created_at": now, "updated_at": now})
        found = await self.ctx.store.flow_error(error_id) if 0 < len(error_id) <= 64 else None
        if found is None:
            raise NotFound(reason="The error could not be found.")
        error, created = found
        return json_response({"id": error_id, "error": error, "created_at": rfc3339(created),
                              "updated_at": rfc3339(created)})

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/sessions/whoami", WhoamiEndpoint(self.whoami), methods=["GET"]),  # hot path: first
            *self.flow_routes("login"),
            *self.flow_routes("registration"),
            *self.flow_routes("verification"), link_route(self, self.flows.verification),
            *self.flow_routes("recovery"), link_route(self, self.flows.recovery),
            _route("/self-service/logout/browser", self.logout_browser, "GET"),
            _route("/self-service/logout", self.logout, "GET", browser_errors=self.browser_error),
            _route("/self-service/logout/api", self.logout_api, "DELETE"),
            _route("/self-service/errors", self.get_error, "GET"),
            _route("/sessions/token-exchange", self.exchange_session_token, "GET"),
            _route("/sessions", self.list_sessions, "GET"),
            _route("/sessions", self.revoke_others, "DELETE"),
            _route("/sessions/{id}", self.revoke_one, "DELETE"),
            _route("/schemas", self.list_schemas, "GET"),
            _route("/schemas/{id}", self.get_schema, "GET"),
            _route(webauthn_script.PATH, self.webauthn_js, "GET"),
        ]


def _route(path: str, fn: Any, method: str, **kw: Any) -> Route:
    return Route(path, endpoint(path, **kw)(fn), methods=[method])


class WhoamiEndpoint:
    """`GET /sessions/whoami` as a plain ASGI endpoint over `identity.whoami.Whoami` (cached bytes, no Request)."""

    def __init__(self, whoami: Whoami) -> None:
        self.whoami = whoami

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[ROUTE_KEY] = "/sessions/whoami"
        status, headers, body = await self.whoami.answer(scope["headers"], scope.get("query_string", b""))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o={offset}".encode()).decode().rstrip("=")


def _page(request: Request) -> tuple[int, int]:
    """Keyset-style `page_size` (1..1000, default 250) and an opaque `page_token` (Kratos' parameters)."""
    raw_size = request.query_params.get("page_size", "250")
    if not (raw_size.isascii() and raw_size.isdigit()) or not 1 <= int(raw_size) <= 1000:
        raise BadRequest(reason="page_size must be a number between 1 and 1000.")
    token = request.query_params.get("page_token", "")
    offset = 0
    if token:
        try:
            text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            if not text.startswith("o=") or not (text[2:].isascii() and text[2:].isdigit()):
                raise ValueError(text)
            offset = int(text[2:])
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise BadRequest(reason="page_token is not valid.") from None
    return int(raw_size), offset
