"""What the upstream receives: the matched path (re-encoded), the rule's upstream URL, cleaned headers
with the mutators' headers set, and `X-Forwarded-For/-Proto/-Host` describing the client."""

from __future__ import annotations

from urllib.parse import quote

from gatekeeper.access.compiler import CompiledRule
from gatekeeper.access.handlers import AuthSession, header_key
from gatekeeper.access.request_view import RequestView
from gatekeeper.proxy.forward import hop_by_hop

_SAFE = "/:@!$&'()*+,;=-._~"
_FORWARDED = frozenset({b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", b"host"})


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


def upstream_target(rule: CompiledRule, view: RequestView) -> str:
    """The request target sent upstream: the matched path, re-encoded, and the query as received."""
    path = upstream_path(rule, view)
    return f"{path}?{view.query}" if view.query else path


def upstream_headers(rule: CompiledRule, view: RequestView, session: AuthSession, *,
                     trusted_forwarding: bool, peer: str) -> list[tuple[bytes, bytes]]:
    """Client headers (bytes as received, names lower-case) minus hop-by-hop, forwarding and injected ones (any
    spelling, `_` or `-`); then the mutators' headers (UTF-8), `X-Forwarded-For/-Proto/-Host` and `Host`."""
    raw = view.headers.raw
    drop = hop_by_hop(raw)
    injected = {header_key(k).encode("latin-1") for k in session.header}
    out: list[tuple[bytes, bytes]] = []
    forwarded_for = b""
    for k, v in raw:
        if k in drop or k == b"expect":
            continue
        key = k.replace(b"_", b"-") if b"_" in k else k
        if key in injected or key in _FORWARDED:
            if key == b"x-forwarded-for" and trusted_forwarding:
                forwarded_for = forwarded_for + b", " + v if forwarded_for else v
            continue
        out.append((k, v))
    out.extend((k.encode("latin-1"), v.encode("utf-8")) for k, v in session.header.items())
    client = peer.encode("ascii")
    out.append((b"x-forwarded-for", forwarded_for + b", " + client if forwarded_for else client))
    out.append((b"x-forwarded-proto", view.scheme.encode("ascii")))
    out.append((b"x-forwarded-host", view.host.encode("ascii")))
    host = view.host if rule.preserve_host else rule.upstream_url.split("://", 1)[1]
    out.append((b"host", host.encode("ascii")))
    return out
