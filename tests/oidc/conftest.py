"""Social sign-in fixtures: a real OpenID Connect provider, a GitHub-shaped API and a Microsoft-shaped
multi-tenant provider on 127.0.0.1, and a gatekeeper configured with all three (`Env`)."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import _merge
from tests.identity.conftest import sqlite_dsn, started  # noqa: F401
from tests.support.oidc_provider import CLIENT_ID, CLIENT_SECRET, GitHubApi, OidcProvider
from tests.support.servers import Instance, serving

TENANT_ID = "5f1c2a9e-0000-4000-8000-00000000cafe"

MAPPER = """
local claims = std.extVar('claims');
{
  identity: {
    traits: {
      [if 'email' in claims && claims.email_verified then 'email' else null]: claims.email,
      [if 'name' in claims then 'name' else null]: { first: std.split(claims.name, ' ')[0] },
    },
    metadata_public: { signed_up_with: 'social' },
    verified_addresses: if 'email' in claims && claims.email_verified
      then [{ via: 'email', value: claims.email }] else [],
  },
}
"""


def mapper_url(source: str = MAPPER) -> str:
    return "base64://" + base64.b64encode(source.encode()).decode()


@dataclass
class Env:
    gk: Instance
    idp: OidcProvider
    github: GitHubApi
    microsoft: OidcProvider


def oidc_overrides(idp: OidcProvider, github: GitHubApi, microsoft: OidcProvider) -> dict[str, Any]:
    client = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "mapper_url": mapper_url()}
    return {"selfservice": {
        "methods": {"oidc": {"enabled": True, "config": {"providers": [
            {"id": "idp", "provider": "generic", "label": "Test IdP", "issuer_url": idp.issuer_url,
             "scope": ["openid", "email", "profile"], **client},
            {"id": "github", "provider": "github", "label": "GitHub", "issuer_url": github.base,
             "auth_url": f"{github.base}/login/oauth/authorize", "token_url": f"{github.base}/login/oauth/access_token",
             **client},
            {"id": "entra", "provider": "microsoft", "label": "Microsoft", "issuer_url": microsoft.issuer_url,
             "microsoft_tenant": "common", **client},
        ]}}},
        "flows": {"registration": {"after": {"oidc": {"hooks": [{"hook": "session"}]}}}},
    }}


@contextlib.asynccontextmanager
async def environment(dsn: str, overrides: dict[str, Any] | None = None, *, base: str = "public") -> \
        AsyncIterator[Env]:
    idp, github, microsoft = OidcProvider(), GitHubApi(), OidcProvider(tenant_id=TENANT_ID)
    async with serving(idp.app()) as idp_url, serving(github.app()) as gh_url, \
            serving(microsoft.app()) as ms_url:
        idp.base, github.base, microsoft.base = idp_url, gh_url, ms_url
        config = _merge(oidc_overrides(idp, github, microsoft), overrides or {})
        async with started(dsn, config, base=base) as gk:
            yield Env(gk, idp, github, microsoft)


@pytest.fixture
def env_for() -> Callable[..., Any]:
    """`async with env_for(dsn, {...overrides}) as env:`"""
    return environment


@pytest.fixture
async def env(sqlite_dsn: str) -> AsyncIterator[Env]:  # noqa: F811
    async with environment(sqlite_dsn) as e:
        yield e
