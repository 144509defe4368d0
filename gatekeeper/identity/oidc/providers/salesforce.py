"""Salesforce (endpoints under the instance's `issuer_url`)."""

from __future__ import annotations

from gatekeeper.identity.oidc.providers.auth0 import Auth0


class Salesforce(Auth0):
    kind = "salesforce"
    default_scope = ("openid", "email", "profile")
    auth_endpoint = "/services/oauth2/authorize"
    exchange_endpoint = "/services/oauth2/token"
    user_endpoint = "/services/oauth2/userinfo"
