"""The call and status mapping `remote` and `remote_json` share: 200 allow, 403 deny, 429 passed on,
anything else (401, 204, 5xx, unreachable) 500 — fail closed, as Oathkeeper."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx

from gatekeeper.access.handlers import (
    AuthSession,
    Deps,
    Retry,
    canonical,
    is_http_url,
    is_token,
    retry_default,
    template_problems,
)
from gatekeeper.access.template import Template, TemplateError, compile_template
from gatekeeper.errors import Forbidden, GatekeeperError, TooManyRequests

log = logging.getLogger("gatekeeper.access.authz")


@dataclass(frozen=True)
class RemoteBase:
    remote: str
    headers: Mapping[str, str] = field(default_factory=dict)
    forward_response_headers_to_upstream: tuple[str, ...] = ()
    retry: Retry = retry_default(0.1, 2.0)


def compile_headers(headers: Mapping[str, str]) -> tuple[tuple[str, Template], ...]:
    return tuple((name, compile_template(value)) for name, value in headers.items())


def problems(cfg: RemoteBase) -> list[tuple[str, str]]:
    out = []
    if not is_http_url(cfg.remote):
        out.append(("remote", "must be an http(s) URL"))
    out += template_problems(cfg.headers, "headers")
    for i, name in enumerate(cfg.forward_response_headers_to_upstream):
        if not is_token(name):
            out.append((f"forward_response_headers_to_upstream.{i}", f"{name!r} is not a valid header name"))
    return out


async def call(session: AuthSession, cfg: RemoteBase, deps: Deps, headers: tuple[tuple[str, Template], ...],
               body: bytes, content_type: str) -> None:
    data = session.template_data()
    out = {}
    for name, template in headers:
        try:
            value = template.render(data)
        except TemplateError as exc:
            raise GatekeeperError(reason=f"header template {name}: {exc}") from None
        if value:
            out[name] = value
    if content_type:
        out["Content-Type"] = content_type
    try:
        response = await deps.http.post(cfg.remote, content=body, headers=out,
                                        timeout=float(cfg.retry.give_up_after) or 2.0)
    except httpx.HTTPError as exc:
        log.warning("remote authorizer unreachable: denying", extra={"remote": cfg.remote,
                                                                     "error": type(exc).__name__})
        raise GatekeeperError(reason="the remote authorizer could not be reached") from None
    if response.status_code == 403:
        raise Forbidden("Access credentials are not sufficient to access this resource",
                        reason="the remote authorizer denied the request")
    if response.status_code == 429:
        raise TooManyRequests()
    if response.status_code != 200:
        raise GatekeeperError(reason=f"the remote authorizer answered {response.status_code}")
    for name in cfg.forward_response_headers_to_upstream:
        if (value := response.headers.get(name)) is not None:
            session.header[canonical(name)] = value
