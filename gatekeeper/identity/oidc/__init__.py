"""Social sign-in with OpenID Connect / OAuth2 providers (Kratos' `oidc` method).

    providers.py   generic (discovery), gitlab, google, microsoft (tenants), github (OAuth2 + REST API)
    jwks.py        provider signing keys and id_token verification (PyJWT)
    continuity.py  sealed `state` and stored provider tokens (Fernet, keys from secrets.cipher/cookie)
    mapper.py      claims -> traits with Jsonnet, as Kratos (`std.extVar('claims')`)
    service.py     the redirect, the callback, native id_tokens, registration with missing traits
    linking.py     accounts that exist: link after proving ownership (1010016), settings link/unlink
    errors.py      BrowserLocationChangeRequired, OidcFailed, ProviderUnavailable
The strategy (buttons, submits) is strategies/oidc.py; the callback route api/public_oidc.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from gatekeeper.app import App
    from gatekeeper.http.kratos.public import PublicApi
    from gatekeeper.identity.service import IdentityContext


async def setup(app: App, ctx: IdentityContext, flows: dict[str, Any], public: PublicApi) -> list[BaseRoute]:
    """When `selfservice.methods.oidc.enabled`: the strategy joins login, registration and settings; the callback
    route."""
    if not ctx.config.selfservice.methods.oidc.enabled:
        return []
    from gatekeeper.http.kratos.oidc import OidcRoutes
    from gatekeeper.identity.oidc.service import SocialSignIn
    from gatekeeper.identity.strategies.oidc import OidcStrategy

    social = await SocialSignIn.build(ctx, app.http)
    social.flows = flows
    social.instrument(app.metrics.registry)
    strategy = OidcStrategy(social)
    flows["login"].strategies.append(strategy)
    flows["login"].on_success.append(social.link_pending)
    flows["login"].without_identifier.append(strategy)
    flows["registration"].strategies.append(strategy)
    if "settings" in flows:  # link and unlink providers in account settings
        flows["settings"].strategies.append(strategy)
    app.extensions["oidc"] = social
    return OidcRoutes(public, social).routes()
