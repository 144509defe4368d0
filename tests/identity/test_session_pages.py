"""`GET /sessions` pages with Kratos' `page_size`/`page_token` and a `Link` header (no `next` on the last page)."""

from __future__ import annotations

import re

import httpx

from tests.identity.conftest import PASSWORD
from tests.support.servers import Instance


async def test_own_sessions_are_paginated_with_link_headers(gk: Instance) -> None:
    async with httpx.AsyncClient(base_url=gk.public) as c:
        flow = (await c.get("/self-service/registration/api")).json()
        first = (await c.post(f"/self-service/registration?flow={flow['id']}", json={
            "method": "password", "password": PASSWORD, "traits": {"email": "ada@example.com"}})).json()
        tokens = [first["session_token"]]
        for _ in range(4):
            login = (await c.get("/self-service/login/api")).json()
            ok = await c.post(f"/self-service/login?flow={login['id']}", json={
                "method": "password", "identifier": "ada@example.com", "password": PASSWORD})
            tokens.append(ok.json()["session_token"])
        auth = {"X-Session-Token": tokens[-1]}
        seen: list[str] = []
        url = "/sessions?page_size=2"
        pages = 0
        while url:
            resp = await c.get(url, headers=auth)
            assert resp.status_code == 200
            seen += [s["id"] for s in resp.json()]
            assert 'rel="first"' in resp.headers["link"]
            match = re.search(r'<([^>]+)>; rel="next"', resp.headers["link"])
            url = match.group(1) if match else ""
            pages += 1
        assert pages == 2 and len(seen) == len(set(seen)) == 4  # the 4 other sessions, none twice
        # digits of other scripts (superscript two, Arabic-Indic one) are not a number here either
        for bad in ("page_size=0", "page_size=abc", "page_size=²", "page_size=١", "page_token=%%%",
                    "page_token=bm9wZQ"):
            resp = await c.get("/sessions?" + bad, headers=auth)
            assert resp.status_code == 400 and resp.json()["error"]["code"] == 400, (bad, resp.text)
