"""`:4456` routes besides the decisions endpoint (proxy/decisions.py, on the data plane): `GET /rules`,
`GET /rules/{id}` (as Oathkeeper) and `GET /.well-known/jwks.json` (public keys of every `id_token` mutator)."""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from gatekeeper.access.handlers import Deps
from gatekeeper.access.repository import RuleRepository
from gatekeeper.errors import BadRequest, GatekeeperError, NotFound
from gatekeeper.jwks import JwksError, public_jwks

log = logging.getLogger("gatekeeper.access")


def _int(request: Request, name: str, default: int, maximum: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(reason=f"{name} must be an integer") from None
    if value < 0:
        raise BadRequest(reason=f"{name} must not be negative")
    return min(value, maximum)


VERSION_HEADER = "X-Rules-Version"  # the active rule set's sha256: replicas that converged answer the same


def access_routes(repository: RuleRepository, deps: Deps, global_jwks_url: str) -> list[BaseRoute]:
    async def list_rules(request: Request) -> JSONResponse:
        limit = _int(request, "limit", _int(request, "page_size", 50, 500), 500)
        offset = _int(request, "offset", 0, 1 << 31)
        rules = repository.current.rules if repository.current else ()
        return JSONResponse([r.loaded.as_json() for r in rules[offset:offset + limit]],
                            headers={VERSION_HEADER: repository.version})

    async def get_rule(request: Request) -> JSONResponse:
        rule = repository.current.by_id(request.path_params["id"]) if repository.current else None
        if rule is None:
            raise NotFound(f"rule {request.path_params['id']!r} does not exist", error_id="not_found")
        return JSONResponse(rule.loaded.as_json(), headers={VERSION_HEADER: repository.version})

    async def jwks(request: Request) -> JSONResponse:
        urls: list[str] = [global_jwks_url] if global_jwks_url else []
        for rule in repository.current.rules if repository.current else ():
            for name, mutator in rule.mutators:
                if name == "id_token" and mutator.cfg.jwks_url not in urls:
                    urls.append(mutator.cfg.jwks_url)
        keys: list[dict[str, Any]] = []
        for url in urls:
            try:
                keys += public_jwks((await deps.jwks.entry(url)).raw)
            except JwksError as exc:
                log.error("cannot read id_token keys", extra={"error": str(exc)})
                raise GatekeeperError(reason="the id_token key set cannot be read") from None
        return JSONResponse({"keys": keys})

    return [
        Route("/rules", list_rules, methods=["GET"]),
        Route("/rules/{id:path}", get_rule, methods=["GET"]),
        Route("/.well-known/jwks.json", jwks, methods=["GET"]),
    ]
