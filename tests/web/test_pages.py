"""The built-in UI pages, with JavaScript off (plain HTTP): labels bound to inputs, visible errors, focus,
escaping of user input, strict security headers, and sensible redirects for missing or stale flows."""

from __future__ import annotations

import re

import httpx

from tests.identity.conftest import PASSWORD
from tests.support.servers import Instance

XSS = '"><script>alert(1)</script>'


async def open_page(c: httpx.AsyncClient, kind: str) -> httpx.Response:
    init = await c.get(f"/self-service/{kind}/browser")
    assert init.status_code == 303
    return await c.get(init.headers["location"])


def hidden_csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


async def test_login_page_is_accessible_and_secure(gk: Instance) -> None:
    async with httpx.AsyncClient(base_url=gk.public) as c:
        page = await open_page(c, "login")
        html = page.text
        assert page.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert "script" not in page.headers["content-security-policy"]  # no JavaScript at all
        for field in ("identifier", "password"):
            assert f'<label for="field-{field}">' in html and f'id="field-{field}"' in html
        assert 'autocomplete="current-password"' in html and 'aria-required="true"' in html
        assert re.search(r'id="field-identifier"[^>]*autofocus', html)
        assert '<button type="submit" name="method" value="password"' in html
        assert '<html lang="en">' in html and "<script" not in html


async def test_errors_are_visible_next_to_their_field_and_user_input_is_escaped(gk: Instance) -> None:
    async with httpx.AsyncClient(base_url=gk.public) as c:
        page = await open_page(c, "registration")
        action = re.search(r'action="([^"]+)"', page.text).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
        resp = await c.post(action, data={"csrf_token": hidden_csrf(page.text), "method": "profile",
                                          "traits.email": XSS, "traits.name.first": XSS})
        assert resp.status_code == 303
        again = await c.get(resp.headers["location"])
        html = again.text
        assert XSS not in html and "&#34;&gt;&lt;script&gt;" in html
        assert 'aria-invalid="true" aria-describedby="field-traits-email-messages"' in html
        assert re.search(r'id="field-traits-email"[^>]*autofocus', html)
        assert 'role="alert"' in html and 'data-message-id="4000001"' in html


async def test_pages_without_or_with_stale_flows_start_a_new_one(gk: Instance) -> None:
    async with httpx.AsyncClient(base_url=gk.public) as c:
        bare = await c.get("/ui/login", params={"return_to": "http://app.example.test/x"})
        assert bare.status_code == 303
        assert bare.headers["location"] == (f"{gk.public}/self-service/login/browser?"
                                            "return_to=http%3A%2F%2Fapp.example.test%2Fx")
        stale = await c.get("/ui/registration", params={"flow": "00000000-0000-4000-8000-000000000000"})
        assert stale.status_code == 303 and stale.headers["location"].endswith("/self-service/registration/browser")
    async with httpx.AsyncClient(base_url=gk.public) as owner, httpx.AsyncClient(base_url=gk.public) as other:
        page = await open_page(owner, "login")
        foreign = await other.get(str(page.url))  # someone else's flow link: a fresh flow, not theirs
        assert foreign.status_code == 303 and foreign.headers["location"].endswith("/self-service/login/browser")


async def test_full_form_round_trip_without_javascript(gk: Instance) -> None:
    async with httpx.AsyncClient(base_url=gk.public) as c:
        page = await open_page(c, "registration")
        action = re.search(r'action="([^"]+)"', page.text).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
        form = {"csrf_token": hidden_csrf(page.text), "traits.email": "ada@example.com", "method": "profile"}
        step = await c.post(action, data=form)
        creds = await c.get(step.headers["location"])
        assert creds.status_code == 200 and 'type="password"' in creds.text and ">Back</button>" in creds.text
        form["csrf_token"] = hidden_csrf(creds.text)
        done = await c.post(action, data={**form, "method": "password", "password": PASSWORD})
        assert done.status_code == 303 and done.headers["location"] == "http://app.example.test/"
        welcome = await c.get("/ui/welcome")
        assert "ada@example.com" in welcome.text and "Sign out" in welcome.text
        error = await c.get("/ui/error", params={"id": "nope"})
        assert error.status_code == 200 and "Start again" in error.text
