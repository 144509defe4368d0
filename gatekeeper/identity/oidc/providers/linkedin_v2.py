"""LinkedIn with OpenID Connect."""

from __future__ import annotations

from gatekeeper.identity.oidc.providers.base import Provider


class LinkedInV2(Provider):
    """Sign In with LinkedIn using OpenID Connect; claims from its userinfo endpoint (Kratos' `linkedin_v2`)."""

    kind = "linkedin_v2"
    required = ()
    default_scope = ("openid", "email", "profile")
    userinfo_claims = True

    def issuer(self) -> str:
        return (self.cfg.issuer_url or "https://www.linkedin.com/oauth").rstrip("/")
