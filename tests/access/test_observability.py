"""Metrics per rule and decision; one log line per request with rule, subject, handlers and reason."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from tests.access.support import access_config, access_instance, rule


async def test_decisions_are_counted_per_rule_and_logged_once_per_request(
        tmp_path: Path, upstream: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="gatekeeper.access_log")
    rules = [rule("orders", "http://<[^/]+>/orders", upstream=upstream, authenticators=("cookie_session",))]
    async with access_instance(access_config(tmp_path, rules)) as gk, httpx.AsyncClient() as client:
        assert (await client.get(f"{gk.proxy}/orders", headers={"Cookie": "ory_kratos_session=alice-token"})
                ).status_code == 200
        assert (await client.get(f"{gk.proxy}/orders", headers={"Cookie": "ory_kratos_session=stolen"})
                ).status_code == 401
        assert (await client.get(f"{gk.api}/decisions/orders")).status_code == 401
        metrics = (await client.get(f"{gk.metrics}/metrics")).text
    assert 'gatekeeper_access_decisions_total{decision="allow",mode="proxy",rule="orders",status="200"} 1.0' in metrics
    assert 'gatekeeper_access_decisions_total{decision="deny",mode="proxy",rule="orders",status="401"} 1.0' in metrics
    assert 'gatekeeper_access_decisions_total{decision="deny",mode="decisions",rule="orders",status="401"} 1.0' \
        in metrics
    assert 'gatekeeper_access_handler_failures_total{handler="cookie_session",reason="401"} 1.0' in metrics
    assert "gatekeeper_access_rules_loaded 1.0" in metrics
    lines = [r for r in caplog.records if getattr(r, "listener", "") in ("proxy", "api")
             and getattr(r, "path", "").endswith("/orders")]
    assert [(r.listener, r.decision, r.rule, r.subject, r.status) for r in lines] == [
        ("proxy", "allow", "orders", "user-alice", 200), ("proxy", "deny", "orders", "", 401),
        ("api", "deny", "orders", "", 401)]
    assert lines[0].handlers == "cookie_session,allow,noop"
    assert "missing, expired or revoked" in lines[1].reason
    assert not any("alice-token" in str(vars(r)) or "stolen" in str(vars(r)) for r in caplog.records)
