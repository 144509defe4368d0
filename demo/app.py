"""A tiny upstream app that shows the request headers it received (HTML at any path, JSON at /headers).

Run it behind gatekeeper to see the identity headers (X-User-Id, X-User-Email, Authorization) that
the access rules inject, and that client-sent copies of them never arrive.
"""

from __future__ import annotations

from html import escape

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

_IDENTITY_HEADERS = ("x-user-id", "x-user-email", "x-user-name", "authorization", "x-user-aal")


def shown_headers(request: Request) -> dict[str, str]:
    """The request headers, with cookie values hidden: a page that echoes a session cookie invites copying it."""
    headers = dict(request.headers.items())
    if "cookie" in headers:
        names = [part.split("=", 1)[0].strip() for part in headers["cookie"].split(";") if part.strip()]
        headers["cookie"] = "; ".join(f"{name}=<hidden>" for name in names)
    return headers


async def headers_json(request: Request) -> JSONResponse:
    return JSONResponse({
        "method": request.method,
        "path": request.url.path,
        "query": request.url.query,
        "headers": shown_headers(request),
    })


async def page(request: Request) -> HTMLResponse:
    rows = "".join(
        f"<tr class='{'identity' if k in _IDENTITY_HEADERS else ''}'><th>{escape(k)}</th><td>{escape(v)}</td></tr>"
        for k, v in sorted(shown_headers(request).items())
    )
    user = request.headers.get("x-user-email") or request.headers.get("x-user-id")
    who = f"Signed in as <strong>{escape(user)}</strong>" if user else "No identity headers received"
    return HTMLResponse(f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gatekeeper demo app</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1f2933}}
table{{border-collapse:collapse;width:100%}}th,td{{text-align:left;padding:.35rem .6rem;border-bottom:1px solid #e4e7eb;
font-family:ui-monospace,monospace;font-size:.9rem;vertical-align:top}}tr.identity{{background:#e6f6ff}}
a{{color:#0967d2}}</style></head>
<body><h1>Demo app</h1><p id="who">{who}</p>
<p><a href="/.auth/ui/settings">Account settings</a> · <a href="/.auth/self-service/logout/browser">Sign out</a>
 · <a href="/headers">JSON</a></p>
<h2>Request headers received from gatekeeper</h2><table>{rows}</table>
<p>Path: <code>{escape(request.url.path)}</code></p></body></html>""")


app = Starlette(routes=[
    Route("/headers", headers_json, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
    Route("/{path:path}", page, methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]),
])
