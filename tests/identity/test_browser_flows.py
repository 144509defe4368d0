"""Browser flows with a plain cookie-holding HTTP client: redirects, CSRF, cookies, SPA (JSON) mode, logout."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx

from gatekeeper.identity.csrf import cookie_name
from gatekeeper.identity.text import Msg
from tests.identity.conftest import PASSWORD
from tests.support.servers import Instance

JSON = {"Accept": "application/json"}


def flow_id(location: str) -> str:
    return parse_qs(urlsplit(location).query)["flow"][0]


def csrf_value(flow: dict) -> str:
    return next(n["attributes"]["value"] for n in flow["ui"]["nodes"] if n["attributes"].get("name") == "csrf_token")


async def start_browser_flow(c: httpx.AsyncClient, kind: str, **params: str) -> dict:
    resp = await c.get(f"/self-service/{kind}/browser", params=params)
    assert resp.status_code == 303
    assert resp.headers["location"].startswith(str(c.base_url).rstrip("/") + f"/ui/{kind}?flow=")
    flow = await c.get(f"/self-service/{kind}/flows", params={"id": flow_id(resp.headers["location"])})
    assert flow.status_code == 200
    return flow.json()


async def register_html(c: httpx.AsyncClient, email: str) -> httpx.Response:
    flow = await start_browser_flow(c, "registration")
    form = {"csrf_token": csrf_value(flow), "traits.email": email, "traits.name.first": "Ada", "method": "profile"}
    step = await c.post(flow["ui"]["action"], data=form)
    assert step.status_code == 303 and flow_id(step.headers["location"]) == flow["id"]
    screen = (await c.get("/self-service/registration/flows", params={"id": flow["id"]})).json()
    names = [n["attributes"]["name"] for n in screen["ui"]["nodes"]]
    assert "password" in names and "screen" in names
    return await c.post(flow["ui"]["action"], data={**form, "method": "password", "password": PASSWORD})


async def test_browser_init_redirects_to_the_ui_and_sets_the_csrf_cookie(gk: Instance) -> None:
    async with httpx.AsyncClient(base_url=gk.public) as c:
        resp = await c.get("/self-service/login/browser")
        assert resp.status_code == 303
        assert resp.headers["location"].startswith(f"{gk.public}/ui/login?flow=")
        set_cookie = resp.headers["set-cookie"]
        assert set_cookie.startswith(cookie_name(gk.public) + "=")
        assert "HttpOnly" in set_cookie and "SameSite=lax" in set_cookie and "Secure" not in set_cookie  # dev
        assert resp.headers["cache-control"] == "private, no-cache, no-store, must-revalidate"
        page = await c.get(resp.headers["location"])
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert 'name="csrf_token"' in page.text and 'for="field-identifier"' in page.text


async def test_fetching_a_browser_flow_without_its_csrf_cookie_is_forbidden(gk: Instance) -> None:
    async with httpx.AsyncClient(base_url=gk.public) as c:
        flow = await start_browser_flow(c, "login")
    async with httpx.AsyncClient(base_url=gk.public) as stranger:
        resp = await stranger.get("/self-service/login/flows", params={"id": flow["id"]})
    assert resp.status_code == 403
    assert resp.json()["error"]["id"] == "security_csrf_violation"
    assert resp.json()["error"]["details"]["reject_reason"]


@contextlib.asynccontextmanager
async def two_browsers(gk: Instance) -> AsyncIterator[tuple[httpx.AsyncClient, dict, httpx.AsyncClient, dict]]:
    """Browser A and browser B, each holding the valid CSRF cookie of a login flow it started itself."""
    async with httpx.AsyncClient(base_url=gk.public) as a, httpx.AsyncClient(base_url=gk.public) as b:
        theirs, mine = await start_browser_flow(a, "login"), await start_browser_flow(b, "login")
        name = cookie_name(gk.public)
        assert a.cookies[name] and b.cookies[name] and a.cookies[name] != b.cookies[name]
        yield a, theirs, b, mine


async def test_a_browser_with_its_own_csrf_cookie_cannot_read_another_browsers_flow(gk: Instance) -> None:
    async with two_browsers(gk) as (a, theirs, b, _):
        resp = await b.get("/self-service/login/flows", params={"id": theirs["id"]})
        assert resp.status_code == 403, resp.text
        assert resp.json()["error"]["id"] == "security_csrf_violation"
        assert (await a.get("/self-service/login/flows", params={"id": theirs["id"]})).status_code == 200


async def test_a_browser_with_its_own_csrf_cookie_cannot_submit_another_browsers_flow(gk: Instance) -> None:
    async with httpx.AsyncClient(base_url=gk.public) as setup:
        await register_html(setup, "ada@example.com")
    async with two_browsers(gk) as (a, theirs, b, mine):
        # B submits A's flow with right credentials and B's own (valid) token: login CSRF, refused
        creds = {"method": "password", "identifier": "ada@example.com", "password": PASSWORD,
                 "csrf_token": csrf_value(mine)}
        spa = await b.post(theirs["ui"]["action"], headers=JSON, json=creds)
        assert spa.status_code == 403, spa.text
        assert spa.json()["error"]["id"] == "security_csrf_violation"
        html = await b.post(theirs["ui"]["action"], data=creds)
        assert html.status_code == 303 and html.headers["location"].startswith(f"{gk.public}/ui/login?flow=")
        restarted = flow_id(html.headers["location"])
        assert restarted not in (theirs["id"], mine["id"])  # the flow restarts, with a message
        page = await b.get(html.headers["location"])
        assert page.status_code == 200 and 'class="message error"' in page.text
        assert "ory_kratos_session" not in b.cookies
        assert (await b.get("/sessions/whoami")).status_code == 401
        # A's flow is intact: A signs in with it
        done = await a.post(theirs["ui"]["action"], data={**creds, "csrf_token": csrf_value(theirs)})
        assert done.status_code == 303 and done.headers["location"] == "http://app.example.test/"
        assert (await a.get("/sessions/whoami")).status_code == 200


async def test_two_step_registration_by_form_posts_then_whoami_by_cookie(gk: Instance) -> None:
    async with httpx.AsyncClient(base_url=gk.public) as c:
        done = await register_html(c, "ada@example.com")
        assert done.status_code == 303 and done.headers["location"] == "http://app.example.test/"
        session_cookie = next(h for h in done.headers.get_list("set-cookie") if h.startswith("ory_kratos_session="))
        assert "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie and "Path=/" in session_cookie
        me = await c.get("/sessions/whoami")
        assert me.status_code == 200 and me.json()["identity"]["traits"]["email"] == "ada@example.com"
        # a signed-in browser asking for a login flow is sent back to where it came from
        again = await c.get("/self-service/login/browser")
        assert again.status_code == 303 and again.headers["location"] == "http://app.example.test/"
        spa = await c.get("/self-service/login/browser", headers=JSON)
        assert spa.status_code == 400 and spa.json()["error"]["id"] == "session_already_available"


async def test_spa_login_returns_the_session_and_a_redirect_but_no_token(gk: Instance) -> None:
    async with httpx.AsyncClient(base_url=gk.public) as c:
        await register_html(c, "ada@example.com")
    async with httpx.AsyncClient(base_url=gk.public) as c:
        init = await c.get("/self-service/login/browser", headers=JSON,
                           params={"return_to": "http://app.example.test/after"})
        assert init.status_code == 200
        flow = init.json()
        assert flow["return_to"] == "http://app.example.test/after" and flow["type"] == "browser"
        creds = {"method": "password", "identifier": "ada@example.com", "csrf_token": csrf_value(flow)}
        bad = await c.post(flow["ui"]["action"], headers=JSON, json={**creds, "password": "nope-nope"})
        assert bad.status_code == 400 and bad.json()["ui"]["messages"][0]["id"] == Msg.ERR_INVALID_CREDENTIALS
        ok = await c.post(flow["ui"]["action"], headers=JSON, json={**creds, "password": PASSWORD})
        assert ok.status_code == 200
        body = ok.json()
        assert "session_token" not in body and body["session"]["active"] is True
        assert body["continue_with"] == [{"action": "redirect_browser_to",
                                          "redirect_browser_to": "http://app.example.test/after"}]
        assert "ory_kratos_session" in c.cookies
        # a new principal rotates the CSRF token: the old form cannot be replayed
        replay = await c.post(flow["ui"]["action"], headers=JSON, json={**creds, "password": PASSWORD})
        assert replay.status_code == 403 and replay.json()["error"]["id"] == "security_csrf_violation"


async def test_submits_without_the_csrf_token_are_refused_or_restarted(gk: Instance) -> None:
    async with httpx.AsyncClient(base_url=gk.public) as c:
        flow = await start_browser_flow(c, "login")
        body = {"method": "password", "identifier": "a@b.co", "password": "whatever-123"}
        spa = await c.post(flow["ui"]["action"], headers=JSON, json=body)
        assert spa.status_code == 403 and spa.json()["error"]["id"] == "security_csrf_violation"
        html = await c.post(flow["ui"]["action"], data=body)
        assert html.status_code == 303
        fresh = flow_id(html.headers["location"])
        assert fresh != flow["id"]
        page = await c.get(html.headers["location"])
        assert page.status_code == 200 and 'class="message error"' in page.text


async def test_browser_logout_clears_the_session(gk: Instance) -> None:
    async with httpx.AsyncClient(base_url=gk.public) as c:
        await register_html(c, "ada@example.com")
        logout = await c.get("/self-service/logout/browser", headers=JSON)
        assert logout.status_code == 200
        data = logout.json()
        assert data["logout_token"].startswith("ory_lo_") and data["logout_url"].startswith(gk.public)
        confirm = await c.get("/self-service/logout/browser")  # a browser navigating here gets a page
        assert confirm.status_code == 200 and "confirm-logout" in confirm.text
        token = re.search(r"token=(ory_lo_\w+)", confirm.text).group(1)  # type: ignore[union-attr]
        assert token == data["logout_token"]  # stable per session, as Kratos
        async with httpx.AsyncClient(base_url=gk.public) as other:
            await register_html(other, "grace@example.com")
            foreign = await other.get("/self-service/logout", params={"token": token}, headers=JSON)
            assert foreign.status_code == 403  # a logout token only works with its own session cookie
        assert (await c.get("/self-service/logout", headers=JSON)).status_code == 400  # no token
        done = await c.get("/self-service/logout", params={"token": token})
        assert done.status_code == 303 and done.headers["location"] == "http://app.example.test/"
        assert (await c.get("/sessions/whoami")).status_code == 401
        reused = await c.get("/self-service/logout", params={"token": token}, headers=JSON)
        assert reused.status_code == 401 and reused.json()["error"]["id"] == "session_inactive"
    async with httpx.AsyncClient(base_url=gk.public) as anonymous:
        resp = await anonymous.get("/self-service/logout/browser", headers=JSON)
        assert resp.status_code == 401 and resp.json()["error"]["id"] == "session_inactive"


async def test_welcome_page_shows_who_is_signed_in(gk: Instance) -> None:
    async with httpx.AsyncClient(base_url=gk.public) as c:
        assert "You are not signed in" in (await c.get("/ui/welcome")).text
        await register_html(c, "ada@example.com")
        assert "ada@example.com" in (await c.get("/ui/welcome")).text
