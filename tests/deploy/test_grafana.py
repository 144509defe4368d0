"""deploy/grafana: the dashboard and the alert suggestions parse, and every metric they query is one a running
gatekeeper exports (scraped from /metrics after some traffic)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.access.support import access_config, rule
from tests.identity.test_sessions import register
from tests.support.servers import running_gatekeeper

ROOT = Path(__file__).parent.parent.parent / "deploy" / "grafana"
METRIC = re.compile(r"\bgatekeeper_[a-z0-9_]+")
SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")


def dashboard_queries() -> list[str]:
    doc = json.loads((ROOT / "gatekeeper.json").read_text())
    exprs = [t["expr"] for p in doc["panels"] for t in p.get("targets", [])]
    exprs += [v["query"]["query"] for v in doc["templating"]["list"] if isinstance(v.get("query"), dict)]
    return exprs


def alert_queries() -> list[str]:
    doc = yaml.safe_load((ROOT / "alerts.yaml").read_text())
    rules = [r for group in doc["groups"] for r in group["rules"]]
    for r in rules:
        assert r["alert"] and r["expr"] and r["labels"]["severity"] in ("info", "warning", "critical")
        assert r["annotations"]["summary"]
    return [r["expr"] for r in rules]


def family(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def test_the_dashboard_is_grafana_json_with_unique_panel_ids() -> None:
    doc = json.loads((ROOT / "gatekeeper.json").read_text())
    ids = [p["id"] for p in doc["panels"]]
    assert doc["uid"] == "gatekeeper" and len(ids) == len(set(ids))
    assert all(p["datasource"]["uid"] == "${datasource}" for p in doc["panels"] if p["type"] != "row")
    titles = " ".join(p["title"].lower() for p in doc["panels"])
    for topic in ("decisions by rule", "latency", "cache hit rate", "store latency", "courier queue", "login outcomes"):
        assert topic in titles


async def test_every_metric_queried_is_exported_by_a_running_gatekeeper(tmp_path: Path) -> None:
    rules = [rule("app", "http://<[^/]+>/app", authenticators=("cookie_session",))]
    config = access_config(tmp_path, rules, {"hashers": {"bcrypt": {"cost": 4}}, "selfservice": {"flows": {
        "registration": {"after": {"password": {"hooks": [{"hook": "session"}]}}}}}})
    async with running_gatekeeper(config) as gk, httpx.AsyncClient() as c:
        token = (await register(gk.public))["session_token"]
        for _ in range(3):  # one miss, then hits
            resp = await c.get(f"{gk.api}/decisions/app", headers={"Cookie": f"ory_kratos_session={token}"})
            assert resp.status_code == 200
        assert (await c.get(f"{gk.api}/decisions/app")).status_code == 401
        exposition = (await c.get(f"{gk.metrics}/metrics")).text
    families = {f.name: f for f in text_string_to_metric_families(exposition)}
    queried = {m for expr in dashboard_queries() + alert_queries() for m in METRIC.findall(expr)}
    missing = sorted(m for m in queried if family(m) not in families)
    assert missing == [], f"queried but not exported: {missing}"
    lookups = {s.labels["result"]: s.value for s in families["gatekeeper_session_cache_lookups"].samples
               if s.name.endswith("_total")}
    assert lookups["miss"] >= 1 and lookups["hit"] >= 2
    decisions = {(s.labels["rule"], s.labels["decision"]) for s in families["gatekeeper_access_decisions"].samples}
    assert decisions == {("app", "allow"), ("app", "deny")}
