"""GitHub (`github`: an OAuth app; `github-app`: a GitHub App's user tokens): OAuth2 + GitHub's REST API.
`issuer_url` is the API base (GitHub Enterprise: `https://ghe.example.com/api/v3`).

`github_organizations` / `github_teams` (`org/team-slug`) restrict sign-in to members, as oauth2-proxy's
`--github-org` / `--github-team`; either list naming the user's organization or team lets them in (membership
needs the `read:org` scope, added when a restriction is set)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from gatekeeper.identity.oidc.errors import OidcFailed
from gatekeeper.identity.oidc.providers.base import EMPTY
from gatekeeper.identity.oidc.providers.oauth2 import OAuth2

ACCEPT = "application/vnd.github+json"


class GitHub(OAuth2):
    """The e-mail only when GitHub says it is the primary address and verified."""

    kind = "github"
    default_scope: ClassVar[tuple[str, ...]] = ("user:email",)
    auth_endpoint = "https://github.com/login/oauth/authorize"
    exchange_endpoint = "https://github.com/login/oauth/access_token"
    client_auth = "post"

    @property
    def scope(self) -> tuple[str, ...]:
        scope = super().scope
        restricted = self.cfg.github_organizations or self.cfg.github_teams
        return (*scope, "read:org") if restricted and not {"read:org", "admin:org"} & set(scope) else scope

    def moved(self, url: str) -> str:
        return url  # issuer_url moves the API only

    def api(self) -> str:
        return (self.cfg.issuer_url or "https://api.github.com").rstrip("/")

    async def claims(self, tokens: dict[str, Any], nonce: str, query: Mapping[str, str] = EMPTY) -> dict[str, Any]:
        claims = await super().claims(tokens, nonce, query)
        if self.cfg.github_organizations or self.cfg.github_teams:
            await self._check_membership(str(tokens["access_token"]))
        return claims

    async def fetch_user(self, tokens: dict[str, Any]) -> Any:
        token = str(tokens["access_token"])
        user = await self._get_json(f"{self.api()}/user", "user", token=token, accept=ACCEPT)
        if not isinstance(user, dict) or user.get("id") is None:
            raise OidcFailed("GitHub's user answer has no id.")
        if any(s in ("user", "user:email") for s in self.scope) or self.kind == "github-app":
            emails = await self._get_json(f"{self.api()}/user/emails", "user/emails", token=token, accept=ACCEPT)
            user = {**user, "emails": [e for e in emails if isinstance(e, dict)] if isinstance(emails, list) else []}
        return user

    def map_claims(self, user: dict[str, Any], tokens: dict[str, Any]) -> dict[str, Any]:
        out = {"iss": self.api(), "sub": str(user["id"]), "name": user.get("name"), "nickname": user.get("login"),
               "preferred_username": user.get("login"), "picture": user.get("avatar_url"),
               "profile": user.get("html_url"), "website": user.get("blog")}
        for entry in user.get("emails") or []:
            if entry.get("primary") is True and entry.get("verified") is True and isinstance(entry.get("email"), str):
                out.update(email=entry["email"], email_verified=True)
                break
        return out

    async def _check_membership(self, token: str) -> None:
        if self.cfg.github_organizations:
            orgs = await self._get_json(f"{self.api()}/user/orgs", "user/orgs", token=token, accept=ACCEPT)
            logins = {str(o.get("login", "")).lower() for o in orgs if isinstance(o, dict)} \
                if isinstance(orgs, list) else set()
            if logins & {o.lower() for o in self.cfg.github_organizations}:
                return
        if self.cfg.github_teams:
            teams = await self._get_json(f"{self.api()}/user/teams", "user/teams", token=token, accept=ACCEPT)
            slugs = {f"{(t.get('organization') or {}).get('login', '')}/{t.get('slug', '')}".lower()
                     for t in teams if isinstance(t, dict)} if isinstance(teams, list) else set()
            if slugs & {t.lower() for t in self.cfg.github_teams}:
                return
        raise OidcFailed("Your GitHub account is not a member of an organization or team allowed to sign in here.")


class GitHubApp(GitHub):
    """Kratos' `github-app`: the primary address (else the last one listed) with GitHub's own verified flag."""

    kind = "github-app"
    default_scope = ()

    def map_claims(self, user: dict[str, Any], tokens: dict[str, Any]) -> dict[str, Any]:
        out = {**super().map_claims({**user, "emails": []}, tokens), "iss": self.exchange_endpoint}
        emails = [e for e in user.get("emails") or [] if isinstance(e.get("email"), str)]
        chosen = next((e for e in emails if e.get("primary") is True), emails[-1] if emails else None)
        if chosen is not None:
            out.update(email=chosen["email"], email_verified=chosen.get("verified") is True)
        return out
