"""Social sign-in providers by Kratos' name (`provider:` in a provider entry), plus gatekeeper's `oauth2`.

    base.py     the shared base and `generic` OpenID Connect (discovery, PKCE, nonce, id_token verification)
    oauth2.py   the plain-OAuth2 base and `oauth2` (auth_url + token_url + userinfo_url, no id_token)
    <name>.py   one provider each: its endpoints, scopes and claims mapping
"""

from __future__ import annotations

from gatekeeper.identity.oidc.providers.amazon import Amazon
from gatekeeper.identity.oidc.providers.apple import Apple
from gatekeeper.identity.oidc.providers.auth0 import Auth0
from gatekeeper.identity.oidc.providers.base import Provider, kratos_claims
from gatekeeper.identity.oidc.providers.dingtalk import DingTalk
from gatekeeper.identity.oidc.providers.discord import Discord
from gatekeeper.identity.oidc.providers.facebook import Facebook
from gatekeeper.identity.oidc.providers.github import GitHub, GitHubApp
from gatekeeper.identity.oidc.providers.gitlab import GitLab
from gatekeeper.identity.oidc.providers.google import Google
from gatekeeper.identity.oidc.providers.lark import Lark
from gatekeeper.identity.oidc.providers.line import Line
from gatekeeper.identity.oidc.providers.linkedin import LinkedIn
from gatekeeper.identity.oidc.providers.linkedin_v2 import LinkedInV2
from gatekeeper.identity.oidc.providers.microsoft import CONSUMER_TENANT, Microsoft
from gatekeeper.identity.oidc.providers.netid import NetID
from gatekeeper.identity.oidc.providers.oauth2 import GenericOAuth2
from gatekeeper.identity.oidc.providers.patreon import Patreon
from gatekeeper.identity.oidc.providers.salesforce import Salesforce
from gatekeeper.identity.oidc.providers.slack import Slack
from gatekeeper.identity.oidc.providers.spotify import Spotify
from gatekeeper.identity.oidc.providers.vk import VK
from gatekeeper.identity.oidc.providers.x import X
from gatekeeper.identity.oidc.providers.yandex import Yandex

PROVIDERS: dict[str, type[Provider]] = {cls.kind: cls for cls in (
    Provider, GitLab, Google, Microsoft, GitHub, GitHubApp, Amazon, Apple, Auth0, DingTalk, Discord, Facebook, Lark,
    Line, LinkedIn, LinkedInV2, NetID, GenericOAuth2, Patreon, Salesforce, Slack, Spotify, VK, X, Yandex)}

__all__ = ["CONSUMER_TENANT", "PROVIDERS", "Provider", "kratos_claims"]
