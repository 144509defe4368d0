"""The demo upstream `make run` puts behind gatekeeper: request headers as JSON at /headers and as HTML elsewhere."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from demo.app import app as demo_app
from tests.support.browser import chromium_page
from tests.support.servers import serving


@pytest.fixture
async def demo() -> AsyncIterator[str]:
    async with serving(demo_app) as url:
        yield url


async def test_headers_json_echoes_method_path_query_and_headers(demo: str) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{demo}/headers?x=1", headers={"X-User-Id": "u-1", "X-Custom": "yes"})
    assert response.status_code == 200
    body = response.json()
    assert (body["method"], body["path"], body["query"]) == ("POST", "/headers", "x=1")
    assert body["headers"]["x-user-id"] == "u-1" and body["headers"]["x-custom"] == "yes"


async def test_any_other_path_is_an_html_page_of_the_headers(demo: str) -> None:
    async with httpx.AsyncClient() as client:
        anonymous = await client.get(f"{demo}/some/page")
        signed_in = await client.get(f"{demo}/", headers={"X-User-Email": "ada@example.com", "X-User-Id": "u-1"})
    assert anonymous.headers["content-type"].startswith("text/html")
    assert "No identity headers received" in anonymous.text and "<code>/some/page</code>" in anonymous.text
    assert "Signed in as <strong>ada@example.com</strong>" in signed_in.text
    assert "<tr class='identity'><th>x-user-id</th><td>u-1</td></tr>" in signed_in.text


async def test_header_values_are_escaped_in_the_page(demo: str) -> None:
    async with httpx.AsyncClient() as client:
        page = await client.get(f"{demo}/", headers={"X-User-Email": "<script>alert(1)</script>"})
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


@pytest.mark.browser
async def test_a_browser_shows_the_identity_headers(demo: str) -> None:
    async with chromium_page(extra_http_headers={"X-User-Email": "ada@example.com"}) as page:
        await page.goto(f"{demo}/")
        assert await page.title() == "gatekeeper demo app"
        assert await page.inner_text("#who") == "Signed in as ada@example.com"
        assert await page.inner_text("tr.identity th") == "x-user-email"
        await page.click("text=JSON")
        assert '"x-user-email":"ada@example.com"' in (await page.content()).replace(" ", "")


async def test_the_demo_never_shows_cookie_values(demo: str) -> None:
    cookies = {"Cookie": "ory_kratos_session=secret-session-value; theme=dark"}
    async with httpx.AsyncClient() as client:
        page = await client.get(f"{demo}/", headers=cookies)
        data = (await client.get(f"{demo}/headers", headers=cookies)).json()
    assert "secret-session-value" not in page.text and "ory_kratos_session=&lt;hidden&gt;" in page.text
    assert data["headers"]["cookie"] == "ory_kratos_session=<hidden>; theme=<hidden>"
