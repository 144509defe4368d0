"""GitLab (OpenID Connect; `issuer_url` points at a self-hosted instance)."""

from __future__ import annotations

from gatekeeper.identity.oidc.providers.base import Provider


class GitLab(Provider):
    """GitLab is an OpenID Connect provider; `issuer_url` points at a self-hosted instance."""

    kind = "gitlab"
    required = ()
    default_scope = ("openid", "email", "profile")

    def issuer(self) -> str:
        return (self.cfg.issuer_url or "https://gitlab.com").rstrip("/")
