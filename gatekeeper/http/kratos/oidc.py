"""HTTP side of social sign-in: the provider's callback route (the work is done by identity/oidc/service.py).

Starting a sign-in needs no route of its own: submitting `provider` to a flow raises
BrowserLocationChangeRequired, which the public API answers with a 303 (HTML) or Kratos' 422 (JSON)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gatekeeper.errors import GatekeeperError
from gatekeeper.http.common import endpoint, redirect
from gatekeeper.identity import csrf
from gatekeeper.identity.oidc.service import CALLBACK

if TYPE_CHECKING:
    from gatekeeper.http.kratos.public import PublicApi
    from gatekeeper.identity.oidc.service import SocialSignIn


class OidcRoutes:
    def __init__(self, api: PublicApi, social: SocialSignIn) -> None:
        self.api, self.social = api, social

    def routes(self) -> list[BaseRoute]:
        path = CALLBACK
        handle = endpoint(path, browser_errors=self.api.browser_error)(self.callback)
        return [Route(path, handle, methods=["GET", "POST"])]

    async def callback(self, request: Request) -> Response:
        query = dict(request.query_params)
        if request.method == "POST":  # response_mode=form_post
            form = await request.form(max_files=0, max_fields=20)
            query.update({k: v for k, v in form.items() if isinstance(v, str)})
        provider = request.path_params["provider"]
        try:
            result = await self.social.callback(provider, query, self.api.client(request),
                                                await self.api.current(request))
        except GatekeeperError as exc:
            self.social.count(provider, "provider_unavailable" if exc.status == 502
                              else "refused" if exc.status < 500 else "error")
            raise
        self.social.count(provider, result.result)
        resp = redirect(result.redirect)
        if result.session is not None and result.token is not None:
            self.api.set_csrf_cookie(resp, csrf.new_token())  # a new principal rotates the CSRF token
            self.api.set_session_cookie(resp, result.token, result.session.expires_at)
        return resp
