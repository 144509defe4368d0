"""The built-in UI: server-rendered pages (jinja2, autoescaped) that render any flow's UI nodes.

Pages live under the public base URL (`<base>/ui/login`, `/ui/registration`, `/ui/error`, `/ui/welcome`)
and need no JavaScript: forms post straight to the flow's `ui.action`. Passkeys and security keys do: their pages
(only those) allow same-origin scripts and load `webauthn.js` (with subresource integrity) and a small script that
wires its buttons.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import jinja2
from starlette.responses import HTMLResponse, Response

if TYPE_CHECKING:
    from gatekeeper.identity.context import IdentityContext

NO_CACHE = "private, no-cache, no-store, must-revalidate"
SECURITY_HEADERS = {
    "Cache-Control": NO_CACHE,
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self' "
                               "http: https:; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
# a page with passkey or security-key nodes runs webauthn.js and its bridge, both from the public base URL
WITH_SCRIPTS = {**SECURITY_HEADERS, "Content-Security-Policy": SECURITY_HEADERS["Content-Security-Policy"]
                .replace("default-src 'none';", "default-src 'none'; script-src 'self';")}


@cache
def environment() -> jinja2.Environment:
    loader = jinja2.PackageLoader("gatekeeper.http.ui", "templates")
    env = jinja2.Environment(loader=loader, autoescape=jinja2.select_autoescape(default=True),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals["label_of"] = label_of
    return env


def label_of(node: dict[str, Any]) -> str:
    label = (node.get("meta") or {}).get("label") or {}
    text = label.get("text") or ""
    if text:
        return str(text)
    return str(node["attributes"].get("name", ""))


def render(ctx: IdentityContext, template: str, status: int = 200, **values: Any) -> Response:
    page = environment().get_template(template).render(base=ctx.public_base_url, **values)
    scripts = any(node.get("type") == "script" for node in (values.get("ui") or {}).get("nodes", []))
    return HTMLResponse(page, status_code=status, headers=WITH_SCRIPTS if scripts else SECURITY_HEADERS)


def render_logout(ctx: IdentityContext, logout_url: str) -> Response:
    """The confirmation page for a browser navigating to /self-service/logout/browser."""
    return render(ctx, "logout.html", logout_url=logout_url)


def render_error(ctx: IdentityContext, error: dict[str, Any], *, status: int) -> Response:
    """The error page for an error that could not be stored (the store itself is down)."""
    return render(ctx, "error.html", status=status, error=error, login_url=ctx.ui_url("login"))


def stylesheet() -> str:
    return resources.files("gatekeeper.http.ui").joinpath("static/style.css").read_text("utf-8")


def webauthn_bridge() -> str:
    return resources.files("gatekeeper.http.ui").joinpath("static/webauthn-ui.js").read_text("utf-8")
