"""The development inbox: with `--dev` and no mail server, sign up with an e-mailed code read at /.dev/inbox
(also under the proxy's /.auth); without `--dev` the page does not exist."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.identity.conftest import PASSWORD

PASSWORDLESS: dict[str, Any] = {"selfservice": {
    "methods": {"code": {"passwordless_enabled": True}},
    "flows": {"registration": {"enable_legacy_one_step": True,
                               "after": {"code": {"hooks": [{"hook": "session"}]}}}},
}}


def form_of(html: str) -> tuple[str, dict[str, str]]:
    action = re.search(r'action="([^"]+)"', html).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    return action, {"csrf_token": csrf}


async def test_sign_up_with_a_code_read_in_the_dev_inbox(start: Any) -> None:
    async with start(PASSWORDLESS, base="proxy") as gk, httpx.AsyncClient(follow_redirects=True) as browser:
        auth = gk.proxy + "/.auth"
        empty = await browser.get(f"{auth}/.dev/inbox")
        assert empty.status_code == 200 and 'id="empty"' in empty.text
        page = await browser.get(f"{auth}/self-service/registration/browser")
        assert "Send sign up code" in page.text
        action, form = form_of(page.text)
        sent = await browser.post(action, data={**form, "traits.email": "new@example.com", "method": "code"})
        assert 'autocomplete="one-time-code"' in sent.text
        inbox = (await browser.get(f"{auth}/.dev/inbox")).text  # the worker may still be rendering: ask again
        for _ in range(50):
            if "new@example.com" in inbox:
                break
            inbox = (await browser.get(f"{auth}/.dev/inbox")).text
        code = re.search(r'<code class="otp" tabindex="0">(\d{6})</code>', inbox).group(1)  # type: ignore[union-attr]
        assert "Complete your account registration" in inbox
        same = await browser.get(f"{gk.public}/.dev/inbox", params={"to": "new@example.com"})
        assert code in same.text  # the public listener serves it too
        action, form = form_of(sent.text)
        done = await browser.post(action, data={**form, "traits.email": "new@example.com", "method": "code",
                                                "code": code}, follow_redirects=False)
        assert done.status_code == 303 and done.headers["location"] == "http://app.example.test/"
        whoami = (await browser.get(f"{auth}/sessions/whoami")).json()
        assert whoami["identity"]["traits"]["email"] == "new@example.com"


async def test_links_in_mail_are_clickable(start: Any) -> None:
    link = {"flows": {"verification": {"enabled": True, "use": "link"}}, "methods": {"link": {"enabled": True}}}
    async with start({"selfservice": link}) as gk, \
            httpx.AsyncClient(base_url=gk.public) as client:
        flow = (await client.get("/self-service/registration/api")).json()
        done = await client.post(f"/self-service/registration?flow={flow['id']}",
                          json={"method": "password", "password": PASSWORD,
                                "traits": {"email": "x@example.com"}})
        assert done.status_code == 200, done.text
        html = ""
        for _ in range(50):
            html = (await client.get("/.dev/inbox")).text
            if "x@example.com" in html:
                break
        assert re.search(r'<a href="http://[^"]+token=[\w-]+">', html)


async def test_no_inbox_without_dev(start: Any) -> None:
    async with start({"dev": False}) as gk, httpx.AsyncClient() as client:
        assert (await client.get(f"{gk.public}/.dev/inbox")).status_code == 404
        assert (await client.get(f"{gk.proxy}/.auth/.dev/inbox")).status_code == 404
