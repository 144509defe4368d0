"""Conformance with the official SDK (`ory-kratos-client==25.4.0`, strict pydantic models): API flows.

The SDK is synchronous, so every call runs in a worker thread while gatekeeper serves on this loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import ory_kratos_client as k
import pytest
from ory_kratos_client.exceptions import ApiException, BadRequestException, UnauthorizedException

from gatekeeper.identity.text import Msg
from tests.identity.conftest import PASSWORD
from tests.support.servers import Instance


async def call(fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    return await asyncio.to_thread(fn, *args, **kw)


@pytest.fixture
async def frontend(gk: Instance) -> AsyncIterator[k.FrontendApi]:
    client = k.ApiClient(k.Configuration(host=gk.public))
    yield k.FrontendApi(client)



def reg_body(method: str = "password", **kw: Any) -> k.UpdateRegistrationFlowBody:
    model = k.UpdateRegistrationFlowWithPasswordMethod if method == "password" else \
        k.UpdateRegistrationFlowWithProfileMethod
    return k.UpdateRegistrationFlowBody(model(method=method, **kw))


def login_body(identifier: str, password: str) -> k.UpdateLoginFlowBody:
    return k.UpdateLoginFlowBody(k.UpdateLoginFlowWithPasswordMethod(method="password", identifier=identifier,
                                                                     password=password))


def node(flow: Any, name: str) -> Any:
    for n in flow.ui.nodes:
        attrs = n.attributes.actual_instance
        if getattr(attrs, "name", None) == name:
            return n
    names = [getattr(n.attributes.actual_instance, "name", None) for n in flow.ui.nodes]
    raise AssertionError(f"no node {name}: {names}")


def message_ids(n: Any) -> list[int]:
    return [m.id for m in n.messages]


async def register(frontend: k.FrontendApi, email: str, password: str = PASSWORD) -> Any:
    flow = await call(frontend.create_native_registration_flow)
    return await call(frontend.update_registration_flow, flow.id,
                      reg_body(password=password, traits={"email": email}))


async def test_schemas_are_listed_and_served_by_id_and_base64_id(gk: Instance) -> None:
    client = k.ApiClient(k.Configuration(host=gk.public))
    api = k.IdentityApi(client)
    containers = await call(api.list_identity_schemas)
    assert [c.id for c in containers] == ["default"]
    raw = await call(api.get_identity_schema, "default")
    assert raw["properties"]["traits"]["properties"]["email"]["format"] == "email"
    assert await call(api.get_identity_schema, "ZGVmYXVsdA") == raw
    with pytest.raises(ApiException) as exc:
        await call(api.get_identity_schema, "nope")
    assert exc.value.status == 404



async def test_native_registration_flow_shows_profile_step_then_credentials(frontend: k.FrontendApi) -> None:
    flow = await call(frontend.create_native_registration_flow)
    assert flow.type == "api" and flow.ui.action.endswith(f"/self-service/registration?flow={flow.id}")
    assert flow.ui.method == "POST" and flow.state == "choose_method"
    email = node(flow, "traits.email").attributes.actual_instance
    assert (email.type, email.required, email.autocomplete) == ("email", True, "email")
    assert node(flow, "traits.email").meta.label.id == Msg.LABEL_GENERATED
    assert node(flow, "method").attributes.actual_instance.value == "profile"
    assert node(flow, "method").group == "profile"
    with pytest.raises(BadRequestException) as exc:  # Kratos answers the next screen with 400
        await call(frontend.update_registration_flow, flow.id,
                   reg_body("profile", traits={"email": "grace@example.com"}))
    screen = exc.value.data
    assert isinstance(screen, k.RegistrationFlow)
    pw = node(screen, "password").attributes.actual_instance
    assert (pw.type, pw.autocomplete, pw.required) == ("password", "new-password", True)
    assert node(screen, "traits.email").attributes.actual_instance.value == "grace@example.com"
    assert node(screen, "screen").meta.label.id == Msg.INFO_REGISTRATION_BACK
    assert [m.id for m in screen.ui.messages] == [Msg.INFO_REGISTRATION_CHOOSE_CREDENTIALS]
    done = await call(frontend.update_registration_flow, flow.id,
                      reg_body(password=PASSWORD, traits={"email": "grace@example.com"}))
    assert done.identity.traits == {"email": "grace@example.com"}


@pytest.mark.parametrize(("traits", "password", "node_name", "msg"), [
    pytest.param({"email": "ada@example.com"}, "abc", "password", Msg.ERR_PASSWORD_TOO_SHORT, id="3 chars -> 4000032"),
    pytest.param({"email": "ada@example.com"}, "ada@example.com", "password", Msg.ERR_PASSWORD_SIMILAR,
                 id="password = email -> 4000031"),
    pytest.param({}, PASSWORD, "traits.email", Msg.ERR_VALIDATION_REQUIRED, id="missing email -> 4000002"),
    pytest.param({"email": "not-an-email"}, PASSWORD, "traits.email", Msg.ERR_VALIDATION_GENERIC,
                 id="malformed email -> 4000001"),
    pytest.param({"email": "ada@example.com"}, "x" * 73, "password", Msg.ERR_PASSWORD_TOO_LONG,
                 id="over 72 bytes with bcrypt -> 4000033"),
])
async def test_registration_refusals_carry_kratos_message_ids(frontend: k.FrontendApi, traits: dict[str, Any],
                                                              password: str, node_name: str, msg: Msg) -> None:
    flow = await call(frontend.create_native_registration_flow)
    with pytest.raises(BadRequestException) as exc:
        await call(frontend.update_registration_flow, flow.id, reg_body(password=password, traits=traits))
    assert isinstance(exc.value.data, k.RegistrationFlow)
    assert msg in message_ids(node(exc.value.data, node_name))


async def test_registration_issues_a_session_and_duplicates_are_refused(frontend: k.FrontendApi) -> None:
    done = await register(frontend, "Ada@Example.com")
    assert isinstance(done, k.SuccessfulNativeRegistration)
    assert done.session_token.startswith("ory_st_") and len(done.session_token) == 39
    assert done.session.active and done.identity.traits["email"] == "Ada@Example.com"
    assert done.identity.verifiable_addresses[0].value == "ada@example.com"
    assert done.identity.verifiable_addresses[0].status == "pending"
    assert [c.actual_instance.action for c in done.continue_with] == ["set_ory_session_token"]
    with pytest.raises(BadRequestException) as exc:
        await register(frontend, "  ADA@example.COM ")  # normalised before the uniqueness check
    assert [m.id for m in exc.value.data.ui.messages] == [Msg.ERR_DUPLICATE_CREDENTIALS]


async def test_whoami_by_token_and_the_fixed_401(frontend: k.FrontendApi) -> None:
    done = await register(frontend, "ada@example.com")
    resp = await call(frontend.to_session_with_http_info, x_session_token=done.session_token)
    session = resp.data
    assert session.identity.id == done.identity.id
    assert session.authenticator_assurance_level == "aal1"
    assert session.authentication_methods[0].method == "password"
    headers = {key.lower(): value for key, value in resp.headers.items()}
    assert headers["x-kratos-authenticated-identity-id"] == done.identity.id
    with pytest.raises(UnauthorizedException) as exc:
        await call(frontend.to_session, x_session_token="ory_st_bogusbogusbogusbogusbogusbogus12")
    assert exc.value.data.error.reason == "No valid session credentials found in the request."
    assert exc.value.data.error.id is None and exc.value.data.error.code == 401


async def test_login_wrong_password_and_unknown_user_look_the_same(frontend: k.FrontendApi) -> None:
    await register(frontend, "ada@example.com")
    bodies = []
    for identifier, password in (("ada@example.com", "wrong-password-123"), ("nobody@example.com", PASSWORD)):
        flow = await call(frontend.create_native_login_flow)
        with pytest.raises(BadRequestException) as exc:
            await call(frontend.update_login_flow, flow.id, login_body(identifier, password))
        assert isinstance(exc.value.data, k.LoginFlow)
        assert [m.id for m in exc.value.data.ui.messages] == [Msg.ERR_INVALID_CREDENTIALS]
        assert node(exc.value.data, "identifier").attributes.actual_instance.value == identifier
        bodies.append([m.text for m in exc.value.data.ui.messages])
    assert bodies[0] == bodies[1]
    flow = await call(frontend.create_native_login_flow)
    assert flow.requested_aal == "aal1" and flow.refresh is False
    assert [node(flow, n).group for n in ("identifier", "password", "method")] == ["default", "password", "password"]
    ok = await call(frontend.update_login_flow, flow.id, login_body(" ADA@example.com", PASSWORD))
    assert ok.session_token.startswith("ory_st_") and ok.session.identity.traits["email"] == "ada@example.com"
    assert (await call(frontend.to_session, x_session_token=ok.session_token)).id == ok.session.id


async def test_own_sessions_listing_revoking_and_native_logout(frontend: k.FrontendApi) -> None:
    first = await register(frontend, "ada@example.com")
    flow = await call(frontend.create_native_login_flow)
    second = await call(frontend.update_login_flow, flow.id, login_body("ada@example.com", PASSWORD))
    others = await call(frontend.list_my_sessions, x_session_token=second.session_token)
    assert [s.id for s in others] == [first.session.id]
    with pytest.raises(BadRequestException):
        await call(frontend.disable_my_session, second.session.id, x_session_token=second.session_token)
    assert (await call(frontend.disable_my_other_sessions, x_session_token=second.session_token)).count == 1
    with pytest.raises(UnauthorizedException):
        await call(frontend.to_session, x_session_token=first.session_token)
    await call(frontend.perform_native_logout, k.PerformNativeLogoutBody(session_token=second.session_token))
    with pytest.raises(UnauthorizedException):
        await call(frontend.to_session, x_session_token=second.session_token)


async def test_a_session_cannot_start_a_new_login_or_registration(frontend: k.FrontendApi) -> None:
    done = await register(frontend, "ada@example.com")
    for create in (frontend.create_native_login_flow, frontend.create_native_registration_flow):
        with pytest.raises(BadRequestException) as exc:
            await call(create, _headers={"X-Session-Token": done.session_token})
        assert isinstance(exc.value.data, k.ErrorGeneric)  # the SDK reads Kratos' error envelope
        assert exc.value.data.error.id == "session_already_available" and exc.value.data.error.code == 400
