"""Provider entries gatekeeper cannot use stop start-up with the key that is wrong (never a silent skip)."""

from __future__ import annotations

import pytest

from gatekeeper.config.problems import ConfigError
from tests.identity.conftest import started


async def test_unusable_providers_stop_start_up_with_their_keys(sqlite_dsn: str) -> None:
    providers = [
        {"id": "a", "provider": "generic", "client_id": "x"},
        {"id": "a", "provider": "github", "client_id": "x"},
        {"id": "b", "provider": "google", "client_id": "x", "mapper_url": "file:///nonexistent/mapper.jsonnet"},
        {"id": "c", "provider": "gitlab", "client_id": "x", "mapper_url": "ftp://example.com/m.jsonnet"},
    ]
    with pytest.raises(ConfigError) as caught:
        async with started(sqlite_dsn, {"selfservice": {"methods": {"oidc": {
                "enabled": True, "config": {"providers": providers}}}}}):
            pass
    assert [p.path for p in caught.value.problems] == ["selfservice.methods.oidc.config.providers.0.issuer_url",
                                                       "selfservice.methods.oidc.config.providers.1.id",
                                                       "selfservice.methods.oidc.config.providers.2.mapper_url",
                                                       "selfservice.methods.oidc.config.providers.3.mapper_url"]
    assert all(p.line for p in caught.value.problems)  # file:line for each
    assert "cannot read /nonexistent/mapper.jsonnet" in str(caught.value)


def test_an_unknown_provider_type_is_a_config_problem(sqlite_dsn: str) -> None:
    from tests.identity.conftest import identity_config

    with pytest.raises(ConfigError, match=r"providers\.0\.provider"):
        identity_config(sqlite_dsn, {"selfservice": {"methods": {"oidc": {"enabled": True, "config": {
            "providers": [{"id": "x", "provider": "myspace", "client_id": "x"}]}}}}})
