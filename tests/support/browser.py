"""Browser tests: Debian's headless chromium driven by Playwright (`chromium`, `chromium_page`), and gatekeeper
in front of the demo app as `make run` serves it (`demo_gatekeeper`)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx

from demo.app import app as demo_app
from gatekeeper.server.listeners import LISTENERS
from tests.conftest import _merge
from tests.identity.conftest import identity_config
from tests.support.ci import unavailable
from tests.support.servers import free_socket, running_gatekeeper, serving, url_of

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def require_chromium() -> None:
    """Fail under CI=true when chromium is missing (a browser test must not pass silently there); skip elsewhere."""
    if os.path.exists(CHROMIUM) or shutil.which("chromium"):
        return
    unavailable("Debian's chromium is not installed (make system-deps installs it)")


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    """A headless chromium (a Playwright `Browser`), closed on the way out."""
    require_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield browser
        finally:
            await browser.close()


@contextlib.asynccontextmanager
async def chromium_page(screenshot: str | None = None, **context_options: Any) -> AsyncIterator[Any]:
    """A page in a fresh context of a headless chromium (`context_options` go to `new_context`); with
    `screenshot`, the last state of the page is saved as tests/artifacts/<screenshot>, pass or fail."""
    async with chromium() as browser:
        page = await (await browser.new_context(**context_options)).new_page()
        try:
            yield page
        finally:
            if screenshot:
                ARTIFACTS.mkdir(exist_ok=True)
                await page.screenshot(path=str(ARTIFACTS / screenshot), full_page=True)


@contextlib.asynccontextmanager
async def demo_gatekeeper(tmp_path: Path, dsn: str, rules: Callable[[str, str], str],
                          overrides: dict[str, Any] | None = None, *, return_path: str = "/",
                          host: str = "127.0.0.1") -> AsyncIterator[str]:
    """gatekeeper in front of the demo app: `rules(proxy_url, upstream_url)` is the access-rule file, the identity
    API and UI live under the proxy's /.auth, browsers return to `return_path`. Yields the proxy URL once ready;
    `host` names it (`localhost` for WebAuthn, whose relying party must be a domain)."""
    async with serving(demo_app) as upstream:
        sockets = {name: free_socket() for name in LISTENERS}
        proxy = url_of(sockets["proxy"]).replace("127.0.0.1", host)
        path = tmp_path / "rules.yaml"
        path.write_text(rules(proxy, upstream))
        config = identity_config(dsn, _merge({
            "serve": {"proxy": {"base_url": proxy}, "public": {"base_url": f"{proxy}/.auth"}},
            "selfservice": {"default_browser_return_url": f"{proxy}{return_path}",
                            "allowed_return_urls": [f"{proxy}/"]},
            "access_rules": {"matching_strategy": "glob", "repositories": [f"file://{path}"]},
            "authenticators": {"cookie_session": {"enabled": True}},
            "authorizers": {"allow": {"enabled": True}},
            "mutators": {"header": {"enabled": True}},
            "errors": {"fallback": ["json"], "handlers": {"json": {"enabled": True}, "redirect": {"enabled": True}}},
        }, overrides or {}))
        async with running_gatekeeper(config, sockets=sockets):
            await wait_ready(proxy)
            yield proxy


async def wait_ready(url: str) -> None:
    """Rules load in the background: wait for the proxy's readiness (which includes them)."""
    async with httpx.AsyncClient() as client:
        for _ in range(200):
            if (await client.get(f"{url}/health/ready")).status_code == 200:
                return
            await asyncio.sleep(0.05)
    raise AssertionError("gatekeeper did not become ready")
