"""Settings and verification together: a changed verifiable address starts unverified and gets a code over real
SMTP; an unchanged address keeps its verified state."""

from __future__ import annotations

import httpx
import ory_kratos_client as k

from tests.identity.conftest import call, frontend, register_api
from tests.support.smtp import SmtpSink, code_in, mail_to, mailing
from tests.support.smtp import sink as sink  # noqa: F401  (fixture)


async def test_changed_address_is_reset_and_gets_a_code(sqlite_dsn: str, sink: SmtpSink) -> None:
    async with mailing(sqlite_dsn, sink) as gk, httpx.AsyncClient(base_url=gk.public) as http:
        reg = await register_api(gk, "before@example.com")
        token = reg["session_token"]
        h = {"X-Session-Token": token}
        api = frontend(gk)
        first = code_in((await mail_to(sink, "before@example.com"))[0])
        vflow = next(c["flow"]["id"] for c in reg["continue_with"] if c["action"] == "show_verification_ui")
        await call(api.update_verification_flow, vflow, k.UpdateVerificationFlowBody(
            k.UpdateVerificationFlowWithCodeMethod(method="code", code=first)))
        flow = (await http.get("/self-service/settings/api", headers=h)).json()
        assert flow["identity"]["verifiable_addresses"][0]["verified"] is True
        same = await http.post(f"/self-service/settings?flow={flow['id']}", headers=h,
                               json={"method": "profile", "traits": {"email": "before@example.com"}})
        assert same.json()["identity"]["verifiable_addresses"][0]["verified"] is True
        changed = await http.post(f"/self-service/settings?flow={flow['id']}", headers=h,
                                  json={"method": "profile", "traits": {"email": "after@example.com"}})
        assert changed.status_code == 200, changed.text
        address = changed.json()["identity"]["verifiable_addresses"][0]
        assert address["value"] == "after@example.com" and address["verified"] is False
        assert address["status"] == "pending"
        assert len(code_in((await mail_to(sink, "after@example.com"))[0])) == 6  # a new code for the new address
        me = (await http.get("/sessions/whoami", headers=h)).json()
        assert me["identity"]["verifiable_addresses"][0]["value"] == "after@example.com"
