"""Kratos' request config, shared by web hooks and HTTP courier channels: where, how, a Jsonnet body, auth.

`url`, `method`, `headers`, `body` (a `file://` or `base64://` Jsonnet template called with the top-level
argument `ctx`) and `auth` (`{type: basic_auth, config: {user, password}}` or `{type: api_key, config: {name,
value, in: header|cookie}}`), as Kratos' `request.Config`.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gatekeeper.config.problems import ConfigError, ConfigProblem
from gatekeeper.identity.jsonnet import Program


@dataclass(frozen=True)
class HttpRequest:
    """One compiled request config; `render` fills the body, `request_kwargs` the headers and auth."""

    url: str
    method: str = "POST"
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    auth: dict[str, Any] = field(default_factory=dict)

    @staticmethod
    def options(config: Any, where: str, what: str) -> dict[str, Any]:
        """The constructor arguments from a raw config block; a ConfigError naming `where` when unusable."""
        if not isinstance(config, dict) or not isinstance(config.get("url"), str):
            raise config_error(where, f"{what} needs config.url")
        body = config.get("body")
        return {"url": config["url"], "method": str(config.get("method", "POST")).upper(),
                "headers": {str(k): str(v) for k, v in (config.get("headers") or {}).items()},
                "body": read_body(body, where, what) if body else None, "auth": dict(config.get("auth") or {})}

    async def render(self, context: dict[str, Any]) -> bytes | None:
        if self.body is None:
            return None
        return (await Program(self.body, "body.jsonnet").text(tla={"ctx": context})).encode()

    def request_kwargs(self) -> dict[str, Any]:
        headers = {"Content-Type": "application/json", **self.headers}
        cookies: dict[str, str] = {}
        kw: dict[str, Any] = {}
        auth_config = self.auth.get("config") or {}
        if self.auth.get("type") == "api_key":
            if auth_config.get("in") == "cookie":
                cookies[str(auth_config.get("name"))] = str(auth_config.get("value"))
            else:
                headers[str(auth_config.get("name"))] = str(auth_config.get("value"))
        elif self.auth.get("type") == "basic_auth":
            kw["auth"] = (str(auth_config.get("user")), str(auth_config.get("password")))
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        return {"headers": headers, **kw}


def config_error(where: str, message: str) -> ConfigError:
    return ConfigError([ConfigProblem(file="<config>", line=None, path=where, message=message)])


def read_body(uri: str, where: str, what: str) -> str:
    """Kratos' body URIs: `file://path`, `base64://...`; a plain path is read as a file."""
    try:
        if uri.startswith("base64://"):
            return base64.b64decode(uri[len("base64://"):] + "=" * (-len(uri) % 4)).decode()
        path = uri[len("file://"):] if uri.startswith("file://") else uri
        return Path(path).read_text("utf-8")
    except (OSError, ValueError) as exc:
        raise config_error(where, f"{what} body {uri!r} cannot be read: {exc}") from None
