"""`remote_json`: POST a JSON payload rendered from a template (Keto-style checks) to an authorization service.

When `remote` is gatekeeper's own `POST /relation-tuples/check` (`Deps.permissions.serves` it) and no response
header is forwarded, the payload is checked in process, with the same outcome as the HTTP call (allowed; denied:
403; a malformed tuple or an unreachable store: 500) and no HTTP hop. A `max-depth` in the URL's query applies."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from gatekeeper.access.authz import remote_call
from gatekeeper.access.handlers import AuthSession, Deps
from gatekeeper.access.template import TemplateError, compile_template
from gatekeeper.errors import Forbidden, GatekeeperError


@dataclass(frozen=True)
class RemoteJsonConfig(remote_call.RemoteBase):
    payload: str = ""


class RemoteJson:
    sets_headers: tuple[str, ...]

    def __init__(self, cfg: RemoteJsonConfig, deps: Deps) -> None:
        self.cfg, self.deps = cfg, deps
        self.payload = compile_template(cfg.payload)
        self.headers = remote_call.compile_headers(cfg.headers)
        self.sets_headers = cfg.forward_response_headers_to_upstream
        checker, depth = deps.permissions, _max_depth(cfg.remote)
        own = checker is not None and checker.serves(cfg.remote) and not self.sets_headers and depth is not None
        self.local, self.max_depth = (checker if own else None), depth or 0

    @staticmethod
    def problems(cfg: RemoteJsonConfig) -> list[tuple[str, str]]:
        out = remote_call.problems(cfg)
        if not cfg.payload:
            out.append(("payload", "is required"))
        else:
            try:
                compile_template(cfg.payload)
            except TemplateError as exc:
                out.append(("payload", str(exc)))
        return out

    async def authorize(self, session: AuthSession) -> None:
        try:
            payload = self.payload.render(session.template_data())
            tuple_json = json.loads(payload)
        except (TemplateError, ValueError) as exc:
            raise GatekeeperError(reason=f"the remote_json payload is not valid JSON: {exc}") from None
        if self.local is None:
            await remote_call.call(session, self.cfg, self.deps, self.headers, payload.encode(), "application/json")
        elif not await self.local.check(tuple_json, self.max_depth):
            raise Forbidden("Access credentials are not sufficient to access this resource",
                            reason="the permission check denied the request")


def _max_depth(url: str) -> int | None:
    """The `max-depth` query parameter of the check URL (0: the configured maximum; None: not a number, which
    the endpoint refuses: left to the HTTP call)."""
    values = parse_qs(urlsplit(url).query).get("max-depth", ["0"])
    try:
        return int(values[0])
    except ValueError:
        return None
