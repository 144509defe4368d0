"""The built-in UI: server-rendered pages (jinja2, autoescaped) that render any flow's UI nodes.

Pages live under the public base URL (`<base>/ui/login`, `/ui/registration`, `/ui/error`, `/ui/welcome`)
and need no JavaScript: forms post straight to the flow's `ui.action`.
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
    return HTMLResponse(page, status_code=status, headers=SECURITY_HEADERS)


def render_logout(ctx: IdentityContext, logout_url: str) -> Response:
    """The confirmation page for a browser navigating to /self-service/logout/browser."""
    return render(ctx, "logout.html", logout_url=logout_url)


def render_error(ctx: IdentityContext, error: dict[str, Any], *, status: int) -> Response:
    """The error page for an error that could not be stored (the store itself is down)."""
    return render(ctx, "error.html", status=status, error=error, login_url=ctx.ui_url("login"))


def stylesheet() -> str:
    return resources.files("gatekeeper.http.ui").joinpath("static/style.css").read_text("utf-8")
