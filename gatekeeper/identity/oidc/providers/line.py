"""LINE Login v2.1 (OpenID Connect, Kratos' `line`)."""

from __future__ import annotations

from gatekeeper.identity.oidc.providers.base import Provider


class Line(Provider):
    """LINE Login: OpenID Connect at `https://access.line.me`. The code exchange asks for an id_token signed with
    LINE's published ES256 keys (`id_token_key_type=JWK`) rather than with the channel secret, as Kratos does."""

    kind = "line"
    required = ()

    def issuer(self) -> str:
        return (self.cfg.issuer_url or "https://access.line.me").rstrip("/")

    def exchange_params(self) -> dict[str, str]:
        return {"id_token_key_type": "JWK"}
