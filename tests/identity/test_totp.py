"""TOTP through the official SDK (API flows) on SQLite and PostgreSQL: link in settings, step up at login,
whoami's highest_available, replayed and wrong codes, unlink."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import ory_kratos_client as k
import pyotp
import pytest
from ory_kratos_client.exceptions import ApiException, ForbiddenException

from gatekeeper.identity.text_settings import SettingsMsg
from tests.identity.conftest import PASSWORD
from tests.identity.test_sdk_conformance import call, login_body, node, register

MFA = {"selfservice": {"methods": {"totp": {"enabled": True, "config": {"issuer": "Example Corp"}},
                                   "lookup_secret": {"enabled": True}}}}


def settings_body(model: Any, **kw: Any) -> k.UpdateSettingsFlowBody:
    return k.UpdateSettingsFlowBody(model(**kw))


def totp_secret(flow: Any) -> str:
    for n in flow.ui.nodes:
        attrs = n.attributes.actual_instance
        if getattr(attrs, "id", None) == "totp_secret_key":
            return str(attrs.text.context["secret"])
    raise AssertionError("no totp_secret_key node")


def error_of(exc: ApiException) -> dict[str, Any]:
    import json
    return json.loads(exc.body)  # type: ignore[no-any-return]


async def enable_totp(fe: k.FrontendApi, token: str) -> pyotp.TOTP:
    flow = await call(fe.create_native_settings_flow, x_session_token=token)
    secret = totp_secret(flow)
    totp = pyotp.TOTP(secret)
    done = await call(fe.update_settings_flow, flow.id, settings_body(
        k.UpdateSettingsFlowWithTotpMethod, method="totp", totp_code=totp.now()), x_session_token=token)
    assert done.state == "success"
    assert [m.id for m in done.ui.messages] == [SettingsMsg.INFO_SETTINGS_SAVED]
    return totp


def next_code(totp: pyotp.TOTP) -> str:
    """A code of a later time step than the current one (the current one was just used)."""
    return totp.at(time.time() + totp.interval)


@pytest.fixture
def frontend_for() -> Callable[[str], k.FrontendApi]:
    return lambda base: k.FrontendApi(k.ApiClient(k.Configuration(host=base)))


async def test_link_totp_then_login_needs_second_factor(start: Callable[..., Any], dsn: str,
                                                         frontend_for: Callable[[str], k.FrontendApi]) -> None:
    async with start(MFA, dsn=dsn) as gk:
        fe = frontend_for(gk.public)
        reg = await register(fe, "totp@example.com")
        flow = await call(fe.create_native_settings_flow, x_session_token=reg.session_token)
        qr = node(flow, "totp_code")
        assert qr.group == "totp"
        img = next(n.attributes.actual_instance for n in flow.ui.nodes if n.type == "img")
        assert img.id == "totp_qr" and img.src.startswith("data:image/png;base64,")
        secret = totp_secret(flow)
        # a wrong code is refused with Kratos' 4000008 on the totp_code node
        with pytest.raises(ApiException) as wrong:
            await call(fe.update_settings_flow, flow.id, settings_body(
                k.UpdateSettingsFlowWithTotpMethod, method="totp", totp_code="000000"),
                x_session_token=reg.session_token)
        assert wrong.value.status == 400
        body = error_of(wrong.value)
        code_node = next(n for n in body["ui"]["nodes"] if n["attributes"].get("name") == "totp_code")
        assert [m["id"] for m in code_node["messages"]] == [SettingsMsg.ERR_TOTP_INVALID]
        totp = pyotp.TOTP(secret)
        done = await call(fe.update_settings_flow, flow.id, settings_body(
            k.UpdateSettingsFlowWithTotpMethod, method="totp", totp_code=totp.now()), x_session_token=reg.session_token)
        assert done.state == "success"
        assert "totp_unlink" in [getattr(n.attributes.actual_instance, "name", None) for n in done.ui.nodes]
        # the session that linked it is aal2 now
        me = await call(fe.to_session, x_session_token=reg.session_token)
        assert me.authenticator_assurance_level == "aal2"

        # a new password login is aal1: whoami refuses it until the second factor
        first = await call(fe.create_native_login_flow)
        logged = await call(fe.update_login_flow, first.id, login_body("totp@example.com", PASSWORD))
        token = logged.session_token
        assert logged.session.authenticator_assurance_level == "aal1"
        with pytest.raises(ForbiddenException) as refused:
            await call(fe.to_session, x_session_token=token)
        err = error_of(refused.value)
        assert err["error"]["id"] == "session_aal2_required"
        assert "/self-service/login/browser?aal=aal2" in err["redirect_browser_to"]
        async with httpx.AsyncClient(base_url=gk.public) as http:
            mine = await http.get("/sessions", headers={"X-Session-Token": token})
            assert mine.status_code == 403 and mine.json()["error"]["id"] == "session_aal2_required"

        second = await call(fe.create_native_login_flow, aal="aal2", x_session_token=token)
        assert second.requested_aal == "aal2"
        assert [m.id for m in second.ui.messages] == [SettingsMsg.INFO_LOGIN_MFA]
        assert node(second, "totp_code").group == "totp"
        code = next_code(totp)
        with pytest.raises(ApiException) as bad:
            await call(fe.update_login_flow, second.id, k.UpdateLoginFlowBody(
                k.UpdateLoginFlowWithTotpMethod(method="totp", totp_code="123456" if code != "123456" else "654321")),
                x_session_token=token)
        assert bad.value.status == 400
        ok = await call(fe.update_login_flow, second.id, k.UpdateLoginFlowBody(
            k.UpdateLoginFlowWithTotpMethod(method="totp", totp_code=code)), x_session_token=token)
        assert ok.session.authenticator_assurance_level == "aal2"
        assert [m.method for m in ok.session.authentication_methods] == ["password", "totp"]
        me = await call(fe.to_session, x_session_token=token)
        assert me.authenticator_assurance_level == "aal2"

        # the same code again (another session, same time window) is a replay: refused
        other = await call(fe.update_login_flow, (await call(fe.create_native_login_flow)).id,
                           login_body("totp@example.com", PASSWORD))
        again = await call(fe.create_native_login_flow, aal="aal2", x_session_token=other.session_token)
        with pytest.raises(ApiException) as replay:
            await call(fe.update_login_flow, again.id, k.UpdateLoginFlowBody(
                k.UpdateLoginFlowWithTotpMethod(method="totp", totp_code=code)), x_session_token=other.session_token)
        assert replay.value.status == 400
        replay_node = next(n for n in error_of(replay.value)["ui"]["nodes"]
                           if n["attributes"].get("name") == "totp_code")
        assert [m["id"] for m in replay_node["messages"]] == [SettingsMsg.ERR_TOTP_INVALID]


async def test_whoami_aal1_setting_lets_aal1_through(start: Callable[..., Any],
                                                     frontend_for: Callable[[str], k.FrontendApi]) -> None:
    overrides = {**MFA, "session": {"whoami": {"required_aal": "aal1"}}}
    async with start(overrides) as gk:
        fe = frontend_for(gk.public)
        reg = await register(fe, "aal1@example.com")
        await enable_totp(fe, reg.session_token)
        logged = await call(fe.update_login_flow, (await call(fe.create_native_login_flow)).id,
                            login_body("aal1@example.com", PASSWORD))
        me = await call(fe.to_session, x_session_token=logged.session_token)
        assert me.authenticator_assurance_level == "aal1"


async def test_aal2_login_without_session_or_second_factor(start: Callable[..., Any],
                                                           frontend_for: Callable[[str], k.FrontendApi]) -> None:
    async with start(MFA) as gk:
        fe = frontend_for(gk.public)
        async with httpx.AsyncClient(base_url=gk.public) as http:
            r = await http.get("/self-service/login/api", params={"aal": "aal2"})
            assert r.status_code == 401 and r.json()["error"]["id"] == "session_aal1_required"
            reg = await register(fe, "nofactor@example.com")
            r = await http.get("/self-service/login/api", params={"aal": "aal2"},
                               headers={"X-Session-Token": reg.session_token})
            assert r.status_code == 400  # nothing to step up with
            me = await http.get("/sessions/whoami", headers={"X-Session-Token": reg.session_token})
            assert me.status_code == 200  # no second factor: aal1 is the highest available


async def test_unlink_totp(start: Callable[..., Any], frontend_for: Callable[[str], k.FrontendApi]) -> None:
    async with start(MFA) as gk:
        fe = frontend_for(gk.public)
        reg = await register(fe, "unlink@example.com")
        await enable_totp(fe, reg.session_token)
        flow = await call(fe.create_native_settings_flow, x_session_token=reg.session_token)
        done = await call(fe.update_settings_flow, flow.id, settings_body(
            k.UpdateSettingsFlowWithTotpMethod, method="totp", totp_unlink=True), x_session_token=reg.session_token)
        assert done.state == "success"
        assert node(done, "totp_code")  # set-up form again
        logged = await call(fe.update_login_flow, (await call(fe.create_native_login_flow)).id,
                            login_body("unlink@example.com", PASSWORD))
        me = await call(fe.to_session, x_session_token=logged.session_token)
        assert me.authenticator_assurance_level == "aal1"


async def test_one_code_two_racing_logins_one_wins(start: Callable[..., Any], dsn: str,
                                                   frontend_for: Callable[[str], k.FrontendApi]) -> None:
    async with start(MFA, dsn=dsn) as gk, httpx.AsyncClient(base_url=gk.public) as http:
        fe = frontend_for(gk.public)
        reg = await register(fe, "race@example.com")
        totp = await enable_totp(fe, reg.session_token)
        tokens, flows = [], []
        for _ in range(4):
            logged = await call(fe.update_login_flow, (await call(fe.create_native_login_flow)).id,
                                login_body("race@example.com", PASSWORD))
            tokens.append(logged.session_token)
            flows.append((await http.get("/self-service/login/api", params={"aal": "aal2"},
                                          headers={"X-Session-Token": logged.session_token})).json()["id"])
        code = next_code(totp)
        results = await asyncio.gather(*(
            http.post(f"/self-service/login?flow={f}", json={"method": "totp", "totp_code": code},
                      headers={"X-Session-Token": t}) for f, t in zip(flows, tokens, strict=True)))
        assert sorted(r.status_code for r in results) == [200, 400, 400, 400]


ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def not_ascii_codes(code: str) -> list[str]:
    """Six characters that str.isdigit() accepts but that are not the code's ASCII digits: the right code in
    Arabic-Indic and in full-width digits (a browser keyboard can type them), and superscript digits."""
    return [code.translate(ARABIC_INDIC), code.translate(FULLWIDTH), "²" * 6, "١٢٣٤٥٦"]


def totp_code_messages(body: dict[str, Any]) -> list[int]:
    code_node = next(n for n in body["ui"]["nodes"] if n["attributes"].get("name") == "totp_code")
    return [m["id"] for m in code_node["messages"]]


async def test_codes_in_non_ascii_digits_are_invalid_codes_not_server_errors(
        start: Callable[..., Any], frontend_for: Callable[[str], k.FrontendApi]) -> None:
    async with start(MFA) as gk, httpx.AsyncClient(base_url=gk.public) as http:
        fe = frontend_for(gk.public)
        reg = await register(fe, "digits@example.com")
        auth = {"X-Session-Token": reg.session_token}
        # settings: linking the authenticator app
        flow = (await http.get("/self-service/settings/api", headers=auth)).json()
        totp = pyotp.TOTP(totp_secret(await call(fe.get_settings_flow, flow["id"], x_session_token=reg.session_token)))
        for code in not_ascii_codes(totp.now()):
            resp = await http.post(f"/self-service/settings?flow={flow['id']}", headers=auth,
                                   json={"method": "totp", "totp_code": code})
            assert resp.status_code == 400, (code, resp.text)
            assert resp.json()["id"] == flow["id"] and totp_code_messages(resp.json()) == [
                SettingsMsg.ERR_TOTP_INVALID], code
        linked = await http.post(f"/self-service/settings?flow={flow['id']}", headers=auth,
                                 json={"method": "totp", "totp_code": totp.now()})
        assert linked.status_code == 200 and linked.json()["state"] == "success"
        # login: the second factor
        logged = await call(fe.update_login_flow, (await call(fe.create_native_login_flow)).id,
                            login_body("digits@example.com", PASSWORD))
        auth = {"X-Session-Token": logged.session_token}
        second = (await http.get("/self-service/login/api", params={"aal": "aal2"}, headers=auth)).json()
        code = next_code(totp)
        for typed in not_ascii_codes(code):
            resp = await http.post(f"/self-service/login?flow={second['id']}", headers=auth,
                                   json={"method": "totp", "totp_code": typed})
            assert resp.status_code == 400, (typed, resp.text)
            assert resp.json()["id"] == second["id"] and totp_code_messages(resp.json()) == [
                SettingsMsg.ERR_TOTP_INVALID], typed
        ok = await http.post(f"/self-service/login?flow={second['id']}", headers=auth,
                             json={"method": "totp", "totp_code": code})
        assert ok.status_code == 200 and ok.json()["session"]["authenticator_assurance_level"] == "aal2"
