"""Browser flows through the official SDK the way kratos-selfservice-ui-node drives them: the UI server forwards
the browser's Cookie header to `get<X>Flow`, `update<X>Flow`, `toSession`, `createBrowserLogoutFlow`,
`updateLogoutFlow` and reads errors with `getFlowError`. Every answer must deserialise into the strict models."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from http.cookies import SimpleCookie
from typing import Any

import httpx
import ory_kratos_client as k
import pytest
from ory_kratos_client.exceptions import ApiException, ForbiddenException

from tests.identity.conftest import PASSWORD
from tests.support.servers import Instance


class CookieJar:
    """What a UI server keeps per browser: the cookies gatekeeper set."""

    def __init__(self) -> None:
        self.cookies: dict[str, str] = {}

    def take(self, headers: Any) -> None:
        values = headers.getlist("Set-Cookie") if hasattr(headers, "getlist") else [
            v for key, v in headers.items() if key.lower() == "set-cookie"]
        for value in values:
            for name, morsel in SimpleCookie(value).items():
                if morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    @property
    def header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())


@pytest.fixture
async def frontend(gk: Instance) -> AsyncIterator[k.FrontendApi]:
    yield k.FrontendApi(k.ApiClient(k.Configuration(host=gk.public)))


def csrf_of(flow: Any) -> str:
    return next(n.attributes.actual_instance.value for n in flow.ui.nodes
                if getattr(n.attributes.actual_instance, "name", None) == "csrf_token")


async def test_ui_node_style_registration_login_logout(frontend: k.FrontendApi) -> None:
    jar = CookieJar()
    init = await asyncio.to_thread(frontend.create_browser_registration_flow_with_http_info)
    jar.take(init.headers)
    flow = await asyncio.to_thread(frontend.get_registration_flow, init.data.id, cookie=jar.header)
    assert isinstance(flow, k.RegistrationFlow) and flow.type == "browser"
    body = k.UpdateRegistrationFlowBody(k.UpdateRegistrationFlowWithPasswordMethod(
        method="password", password=PASSWORD, traits={"email": "ada@example.com"}, csrf_token=csrf_of(flow)))
    done = await asyncio.to_thread(frontend.update_registration_flow_with_http_info, flow.id, body,
                                   cookie=jar.header)
    jar.take(done.headers)
    assert done.data.session_token is None and done.data.session.active
    assert [c.actual_instance.action for c in done.data.continue_with] == ["redirect_browser_to"]
    me = await asyncio.to_thread(frontend.to_session, cookie=jar.header)
    assert me.identity.traits["email"] == "ada@example.com"
    logout = await asyncio.to_thread(frontend.create_browser_logout_flow, cookie=jar.header)
    assert isinstance(logout, k.LogoutFlow) and logout.logout_token.startswith("ory_lo_")
    out = await asyncio.to_thread(frontend.update_logout_flow_with_http_info, token=logout.logout_token,
                                  cookie=jar.header)
    assert out.status_code == 204
    jar.take(out.headers)
    with pytest.raises(ApiException) as exc:
        await asyncio.to_thread(frontend.to_session, cookie=jar.header)
    assert exc.value.status == 401
    login = await asyncio.to_thread(frontend.create_browser_login_flow_with_http_info, return_to=None)
    jar.take(login.headers)
    fetched = await asyncio.to_thread(frontend.get_login_flow, login.data.id, cookie=jar.header)
    assert isinstance(fetched, k.LoginFlow) and fetched.requested_aal == "aal1"
    signin = k.UpdateLoginFlowBody(k.UpdateLoginFlowWithPasswordMethod(
        method="password", identifier="ada@example.com", password=PASSWORD, csrf_token=csrf_of(fetched)))
    ok = await asyncio.to_thread(frontend.update_login_flow, fetched.id, signin, cookie=jar.header)
    assert ok.session.identity.traits["email"] == "ada@example.com" and ok.session_token is None


async def test_browser_flow_fetched_with_another_browsers_cookies_is_a_csrf_violation(
        frontend: k.FrontendApi) -> None:
    init = await asyncio.to_thread(frontend.create_browser_login_flow)
    with pytest.raises(ForbiddenException) as exc:
        await asyncio.to_thread(frontend.get_login_flow, init.id, cookie="csrf_token_x=nope")
    assert exc.value.data.error.id == "security_csrf_violation"


async def test_flow_errors_are_readable_with_get_flow_error(gk: Instance, frontend: k.FrontendApi) -> None:
    async with httpx.AsyncClient(base_url=gk.public) as c:
        resp = await c.get("/self-service/login/browser", params={"return_to": "https://evil.example/"})
    error_id = resp.headers["location"].rsplit("id=", 1)[1]
    flow_error = await asyncio.to_thread(frontend.get_flow_error, error_id)
    assert isinstance(flow_error, k.FlowError) and flow_error.id == error_id
    assert flow_error.error["id"] == "self_service_flow_return_to_forbidden"
    stub = await asyncio.to_thread(frontend.get_flow_error, "stub:500")
    assert stub.error["code"] == 500
