"""Social sign-in errors (Kratos' wording; the envelope is built in api/errors.py).

    GatekeeperError
    ├── BrowserLocationChangeRequired (422): the browser must go to the provider (redirect_browser_to)
    ├── BadRequest: OidcFailed (state, code, id_token or claims refused: the reason says which)
    └── UpstreamError (502): ProviderUnavailable (discovery, JWKS, token or user endpoints unreachable)
"""

from __future__ import annotations

from gatekeeper.errors import BadRequest, GatekeeperError, UpstreamError


class BrowserLocationChangeRequired(GatekeeperError):
    """HTML gets a 303 to `redirect_to`; SPA clients a 422 with `redirect_browser_to` (Kratos)."""

    status = 422
    id = "browser_location_change_required"
    default_message = "browser location change required"

    def __init__(self, redirect_to: str) -> None:
        super().__init__(reason=f"In order to complete this flow please redirect the browser to: {redirect_to}",
                         details={"redirect_browser_to": redirect_to})
        self.browser_redirect = redirect_to  # public API: HTML requests get a 303 there
        self.extra = {"redirect_browser_to": redirect_to}


class OidcFailed(BadRequest):
    def __init__(self, reason: str) -> None:
        super().__init__(reason=reason)


class ProviderUnavailable(UpstreamError):
    default_message = "The social sign-in provider could not be reached"

    def __init__(self, provider: str, what: str) -> None:
        super().__init__(reason=f"Unable to complete OpenID Connect flow: the provider {provider!r} did not answer "
                                f"its {what} request. Please try again later.")
