"""Provider rules that need no network: Entra ID tenants and issuers, Google's issuer forms, default scopes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gatekeeper.config.identity import OidcProvider
from gatekeeper.identity.oidc.errors import OidcFailed
from gatekeeper.identity.oidc.providers import CONSUMER_TENANT, PROVIDERS, Provider

ORG_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def refused(call: Callable[[], Any], reason: str) -> None:
    with pytest.raises(OidcFailed) as caught:
        call()
    assert reason in caught.value.reason


def make(kind: str, **cfg: object) -> Provider:
    return PROVIDERS[kind](OidcProvider(id=kind, provider=kind, client_id="c", **cfg),  # type: ignore[arg-type]
                           None, "https://auth.example.com/cb")  # type: ignore[arg-type]  # no network here


def test_microsoft_tenants_decide_who_may_sign_in_and_which_issuer_counts() -> None:
    orgs = make("microsoft", microsoft_tenant="organizations")
    assert orgs.issuer() == "https://login.microsoftonline.com/organizations/v2.0"
    orgs._discovery = {"issuer": "https://login.microsoftonline.com/{tenantid}/v2.0"}
    assert orgs.expected_issuer({"tid": ORG_TENANT}) == f"https://login.microsoftonline.com/{ORG_TENANT}/v2.0"
    refused(lambda: orgs.expected_issuer({}), "tid")
    refused(lambda: orgs.expected_issuer({"tid": "x/../evil"}), "tid")
    orgs.check_claims({"tid": ORG_TENANT})
    refused(lambda: orgs.check_claims({"tid": CONSUMER_TENANT}), "Personal Microsoft accounts")
    consumers = make("microsoft", microsoft_tenant="consumers")
    consumers.check_claims({"tid": CONSUMER_TENANT})
    refused(lambda: consumers.check_claims({"tid": ORG_TENANT}), "Only personal")
    single = make("microsoft", microsoft_tenant=ORG_TENANT)
    single._discovery = {"issuer": f"https://login.microsoftonline.com/{ORG_TENANT}/v2.0"}
    assert single.expected_issuer({"tid": "someone-else"}) == f"https://login.microsoftonline.com/{ORG_TENANT}/v2.0"


def test_google_accepts_its_bare_issuer_only_when_it_is_google() -> None:
    google = make("google")
    google._discovery = {"issuer": "https://accounts.google.com"}
    assert google.expected_issuer({"iss": "accounts.google.com"}) == "accounts.google.com"
    assert google.expected_issuer({"iss": "https://accounts.google.com"}) == "https://accounts.google.com"
    stand_in = make("google", issuer_url="http://127.0.0.1:9")
    stand_in._discovery = {"issuer": "http://127.0.0.1:9"}
    assert stand_in.expected_issuer({"iss": "accounts.google.com"}) == "http://127.0.0.1:9"


def test_default_scopes_and_endpoints() -> None:
    assert make("google").scope == ("openid", "email", "profile")
    assert make("gitlab").issuer() == "https://gitlab.com"
    assert make("gitlab", issuer_url="https://git.example.com/").issuer() == "https://git.example.com"
    assert make("github").scope == ("user:email",)
    assert make("generic", issuer_url="https://id.example.com", scope=("email",)).scope == ("openid", "email")


def test_every_provider_type_of_kratos_v25_4_is_known_by_its_name() -> None:
    kratos = {"generic", "google", "github", "github-app", "gitlab", "microsoft", "discord", "salesforce", "slack",
              "facebook", "auth0", "vk", "yandex", "apple", "spotify", "netid", "dingtalk", "linkedin",
              "linkedin_v2", "patreon", "lark", "x", "line", "amazon"}
    assert set(PROVIDERS) == kratos | {"oauth2"}
    assert make("apple").issuer() == "https://appleid.apple.com"
    assert make("netid").issuer() == "https://broker.netid.de"
    assert make("linkedin_v2").issuer() == "https://www.linkedin.com/oauth"
    assert make("line").issuer() == "https://access.line.me"
    moved = make("discord", issuer_url="http://127.0.0.1:9/")
    assert moved.moved("https://discord.com/api/users/@me") == "http://127.0.0.1:9/api/users/@me"  # type: ignore[attr-defined]
