"""The official Kratos SDK (ory-kratos-client 25.4.0) reads the flows that carry provider nodes."""

from __future__ import annotations

import httpx
from ory_kratos_client.models import LoginFlow, RegistrationFlow, SettingsFlow

from tests.identity.test_browser_flows import csrf_value, register_html, start_browser_flow
from tests.oidc.conftest import Env
from tests.oidc.test_settings import settings_flow


async def test_the_sdk_parses_flows_with_provider_nodes(env: Env) -> None:
    async with httpx.AsyncClient(base_url=env.gk.public) as c:
        login = await start_browser_flow(c, "login")
        parsed = LoginFlow.from_dict(login)
        assert parsed is not None
        labels = [n.meta.label.text for n in parsed.ui.nodes if n.group == "oidc" and n.meta.label]
        assert "Sign in with Test IdP" in labels
        assert RegistrationFlow.from_dict(await start_browser_flow(c, "registration")) is not None
        resp = await c.post(login["ui"]["action"], json={"csrf_token": csrf_value(login), "provider": "idp"},
                            headers={"Accept": "application/json"})
        # Kratos' wire shape: the SDK's ErrorBrowserLocationChangeRequired model nests `error` once more than
        # Kratos sends, so clients (and elements-react) read these two keys directly
        assert resp.status_code == 422 and resp.json()["error"]["id"] == "browser_location_change_required"
        assert resp.json()["redirect_browser_to"].startswith(env.idp.base)
        assert (await register_html(c, "sdk@example.com")).status_code == 303
        settings = SettingsFlow.from_dict(await settings_flow(c))
        assert settings is not None
        assert [n.attributes.actual_instance.name for n in settings.ui.nodes if n.group == "oidc"] == ["link"] * 3
