"""deploy/nginx/gatekeeper.conf with a real nginx: decision mode (auth_request) and proxy mode give the
same answers on the same requests."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from bench.common import NGINX, fill, free_port, nginx
from tests.access.support import access_config, access_instance, raw_get, received_headers, rule
from tests.support.ci import unavailable

ROOT = Path(__file__).resolve().parents[2]

IDENTITY = ("header", {"headers": {"X-User-Id": "{{ print .Subject }}",
                                   "X-User-Email": "{{ print .Extra.identity.traits.email }}"}})

CASES = [
    ("/app/page", {"Cookie": "ory_kratos_session=alice-token"}, 200, "user-alice"),
    ("/app/page", {"Cookie": "ory_kratos_session=alice-token", "X-User-Id": "root", "x_user_email": "x"}, 200,
     "user-alice"),
    ("/app/page", {"Accept": "application/json"}, 401, None),
    ("/app/page", {"Cookie": "ory_kratos_session=forged"}, 401, None),
    ("/admin/users", {"Cookie": "ory_kratos_session=alice-token"}, 403, None),
    ("/app/../admin/users", {"Cookie": "ory_kratos_session=alice-token"}, 403, None),
    ("/app/%2e%2e/admin/users", {"Cookie": "ory_kratos_session=alice-token"}, 403, None),
    ("/public/x", {"X-User-Id": "root"}, 200, "anonymous"),
]


@pytest.fixture(autouse=True)
def nginx_installed() -> None:
    if NGINX is None:
        unavailable("nginx is not installed (make system-deps installs it)")


async def test_nginx_auth_request_and_the_proxy_agree(tmp_path: Path, upstream: str) -> None:
    to_login = ("redirect", {"to": "/.auth/ui/login", "return_to_query_param": "return_to",
                             "when": [{"error": ["unauthorized"], "request": {"header": {"accept": ["text/html"]}}}]})
    rules = [rule("app", "http://<[^/]+>/app/<.*>", upstream=upstream, authenticators=("cookie_session",),
                  mutators=(IDENTITY,), errors=(to_login,)),
             rule("admin", "http://<[^/]+>/admin/<.*>", upstream=upstream, authenticators=("cookie_session",),
                  authorizer="deny", mutators=(IDENTITY,)),
             rule("public", "http://<[^/]+>/public/<.*>", upstream=upstream, authenticators=("anonymous",),
                  mutators=(IDENTITY,))]
    async with access_instance(access_config(tmp_path, rules)) as gk:
        port = free_port()
        conf = fill((ROOT / "deploy/nginx/gatekeeper.conf").read_text(), LISTEN=f"127.0.0.1:{port}",
                    APP=upstream.split("://")[1], GATEKEEPER_API=gk.api.split("://")[1],
                    GATEKEEPER_PROXY=gk.proxy.split("://")[1])
        with nginx(conf, ports=[port]):
            async with httpx.AsyncClient() as client:
                for path, headers, status, user in CASES:
                    answers = [await raw_get(base, path.encode(), headers)
                               for base in (gk.proxy, f"http://127.0.0.1:{port}")]
                    assert answers[0][0] == answers[1][0] == status, (path, headers, answers)
                    if status == 200:
                        for _, body in answers:
                            got = received_headers(json.loads(body))
                            assert got["x-user-id"] == [user] and "x_user_email" not in got, (path, got)
                for base in (gk.proxy, f"http://127.0.0.1:{port}"):
                    login = await client.get(f"{base}/app/page?a=1&b=2", headers={"Accept": "text/html"})
                    assert login.status_code == 302, (base, login.text)
                    assert login.headers["location"] == "/.auth/ui/login?" + urlencode(
                        {"return_to": f"{base}/app/page?a=1&b=2"})
                    api = await client.get(f"{base}/app/page", headers={"Accept": "application/json"})
                    assert api.status_code == 401 and api.json()["error"]["id"] == "unauthorized"
