"""Error handlers: json, redirect (return_to), www_authenticate, `when` selection and errors.fallback."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.access.support import access_config, access_instance, rule

ERRORS = (
    ("redirect", {"to": "https://login.example/ui/login", "return_to_query_param": "return_to",
                  "when": [{"error": ["unauthorized"], "request": {"header": {"accept": ["text/html"]}}}]}),
    ("www_authenticate", {"realm": "Staff", "when": [{"error": ["unauthorized"],
                                                      "request": {"remote_ip": {"match": ["10.0.0.0/8"]}}}]}),
    ("json", {"verbose": True, "when": [{"error": ["forbidden"]}]}),
)


async def get(url: str, **kw: Any) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.get(url, **kw)


async def test_when_conditions_pick_the_handler(tmp_path: Path, upstream: str) -> None:
    rules = [rule("app", "<https?>://<.*>/app/<.*>", upstream=upstream, authenticators=("cookie_session",),
                  errors=ERRORS),
             rule("deny", "http://<.*>/deny", authorizer="deny", errors=ERRORS)]
    async with access_instance(access_config(tmp_path, rules)) as gk:
        browser = await get(f"{gk.proxy}/app/page?x=1", headers={"Accept": "text/html,application/xhtml+xml"})
        assert browser.status_code == 302
        location = urlsplit(browser.headers["location"])
        assert location.netloc == "login.example"
        assert parse_qs(location.query)["return_to"] == [f"{gk.proxy}/app/page?x=1"]
        api = await get(f"{gk.proxy}/app/page", headers={"Accept": "application/json"})
        assert api.status_code == 401 and api.json()["error"]["message"] == "The request could not be authorized"
        forbidden = await get(f"{gk.proxy}/deny")
        assert forbidden.status_code == 403
        assert forbidden.json()["error"]["message"] == "Access credentials are not sufficient to access this resource"
        decided = await get(f"{gk.api}/decisions/app/x", headers={"Accept": "text/html", "X-Forwarded-Proto": "https",
                                                                   "X-Forwarded-Host": "app.example"})
        assert decided.status_code == 302
        assert parse_qs(urlsplit(decided.headers["location"]).query)["return_to"] == ["https://app.example/app/x"]


async def test_www_authenticate_and_fallback(tmp_path: Path) -> None:
    rules = [rule("basic", "http://<.*>/basic", authenticators=("unauthorized",), errors=(
        ("www_authenticate", {"realm": "Staff"}),))]
    overrides = {"errors": {"fallback": ["redirect", "json"], "handlers": {"redirect": {"config": {
        "to": "/login", "when": [{"error": ["not_found"], "request": {"header": {"accept": ["text/*"]}}}]}}}}}
    async with access_instance(access_config(tmp_path, rules, overrides)) as gk:
        basic = await get(f"{gk.proxy}/basic")
        assert basic.status_code == 401 and basic.headers["www-authenticate"] == "Basic realm=Staff"
        assert basic.text == "Unauthorized"
        missing_html = await get(f"{gk.proxy}/nowhere", headers={"Accept": "text/html"})
        assert missing_html.status_code == 302 and missing_html.headers["location"] == "/login"
        missing_json = await get(f"{gk.proxy}/nowhere", headers={"Accept": "*/*"})
        assert missing_json.status_code == 404 and missing_json.json()["error"]["id"] == "not_found"


async def test_two_responsible_handlers_are_a_500(tmp_path: Path) -> None:
    rules = [rule("r", "http://<.*>/r", authorizer="deny", errors=("json", ("redirect", {"to": "/x"})))]
    async with access_instance(access_config(tmp_path, rules)) as gk:
        assert (await get(f"{gk.api}/decisions/r")).status_code == 500
