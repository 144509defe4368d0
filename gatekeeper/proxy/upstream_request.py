"""What the upstream receives: the matched path (re-encoded), the rule's upstream URL, cleaned headers
with the mutators' headers set, and `X-Forwarded-For/-Proto/-Host` describing the client."""

from __future__ import annotations

from urllib.parse import quote

from gatekeeper.access.compiler import CompiledRule
from gatekeeper.access.handlers import AuthSession, header_key
from gatekeeper.access.request_view import RequestView
from gatekeeper.proxy.forward import hop_by_hop

_SAFE = "/:@!$&'()*+,;=-._~"
_FORWARDED = frozenset({"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "host"})


def upstream_path(rule: CompiledRule, view: RequestView) -> str:
    """Oathkeeper: join(upstream path, request path), then strip the first `/<strip_path>`."""
    path = rule.upstream_base_path + view.path if view.path != "/" or not rule.upstream_base_path else \
        rule.upstream_base_path
    if rule.strip_path:
        strip = "/" + rule.strip_path.strip("/")
        path = path.replace(strip, "", 1) or "/"
    if not path.startswith("/"):
        path = "/" + path
    return quote(path, safe=_SAFE)


def upstream_url(rule: CompiledRule, view: RequestView) -> str:
    url = rule.upstream_url + upstream_path(rule, view)
    return f"{url}?{view.query}" if view.query else url


def upstream_headers(rule: CompiledRule, view: RequestView, session: AuthSession, *,
                     trusted_forwarding: bool, peer: str, websocket: bool = False) -> list[tuple[str, str]]:
    raw = view.headers.raw
    drop = hop_by_hop(raw)
    injected = {header_key(k) for k in session.header}
    out: list[tuple[str, str]] = []
    forwarded_for = ""
    for k, v in raw:
        if k in drop:
            continue
        name = k.decode("latin-1")
        key = header_key(name)
        if key in injected or key in _FORWARDED or (websocket and key.startswith("sec-websocket-")):
            if key == "x-forwarded-for" and trusted_forwarding:
                forwarded_for = f"{forwarded_for}, {v.decode('latin-1')}" if forwarded_for else v.decode("latin-1")
            continue
        out.append((name, v.decode("latin-1")))
    out.extend(session.header.items())
    out.append(("X-Forwarded-For", f"{forwarded_for}, {peer}" if forwarded_for else peer))
    out.append(("X-Forwarded-Proto", view.scheme))
    out.append(("X-Forwarded-Host", view.host))
    out.append(("Host", view.host if rule.preserve_host else rule.upstream_url.split("://", 1)[1]))
    return out
