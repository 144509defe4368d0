"""What operators of Ory's charts expect: secrets only through Secret references, extra volumes and
environment, a Prometheus Operator ServiceMonitor, and an HPA on CPU plus a custom per-pod metric."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import helm_python
import pytest
import yaml

from tests.deploy.test_chart import (
    FULLNAME,
    NAMESPACE,
    PG_SECRETS,
    PRODUCTION,
    RELEASE,
    SCENARIOS,
    Doc,
    chart,
    container,
    merge,
    of_kind,
    one,
    pod_specs,
    render,
)

__all__ = ["chart"]  # the module-scoped fixture, shared

ROOT = Path(__file__).resolve().parents[2]
SMTP_URI = "smtp://mailer:m41l-pw@smtp.example.com:587/"
WITH_SMTP = merge(SCENARIOS["production-managed-secret"], {"courier": {"smtp": {"connectionUri": SMTP_URI}}})


def gatekeeper_containers(docs: list[Doc]) -> list[tuple[str, Doc]]:
    """Every container running the gatekeeper image: serving, init, migrations Job, clean-up CronJob."""
    return [
        (f"{where}/{spec['name']}", spec)
        for where, pod in pod_specs(docs)
        for spec in pod.get("initContainers", []) + pod["containers"]
    ]


def secret_refs(spec: Doc) -> dict[str, Doc]:
    return {e["name"]: e["valueFrom"]["secretKeyRef"] for e in spec["env"] if "secretKeyRef" in e.get("valueFrom", {})}


# --- secrets: the DSN and the SMTP connection URI ------------------------------------------------------


def test_dsn_and_smtp_uri_reach_every_container_only_through_secret_refs(chart: helm_python.Chart) -> None:
    manifests = chart.render(WITH_SMTP, name=RELEASE, namespace=NAMESPACE, is_install=True)
    docs = render(chart, WITH_SMTP)

    # in plain text nowhere: not in a ConfigMap, an env value, an annotation or NOTES
    for path, text in manifests.items():
        assert "m41l-pw" not in text and "s3cr3t-pw" not in text, path
    secret = one(docs, "Secret", FULLNAME)
    assert base64.b64decode(secret["data"]["smtpConnectionURI"]).decode() == SMTP_URI
    containers = gatekeeper_containers(docs)
    assert {where.split("/")[0] for where, _ in containers} == {"Deployment", "Job", "CronJob"}
    for where, spec in containers:
        refs = secret_refs(spec)
        assert refs["COURIER_SMTP_CONNECTION_URI"]["key"] == "smtpConnectionURI", where
        assert refs["DSN"]["key"] == "dsn", where
        assert refs["DSN"]["name"] in {FULLNAME, f"{FULLNAME}-migrations"}, where
    assert base64.b64decode(one(docs, "Secret", f"{FULLNAME}-migrations")["data"]["smtpConnectionURI"]).decode() == (
        SMTP_URI
    ), "the migrations hook copy holds the same keys"


def test_gatekeeper_reads_the_smtp_uri_from_the_variable_the_pod_gets(chart: helm_python.Chart) -> None:
    config_module = pytest.importorskip("gatekeeper.config")
    docs = render(chart, WITH_SMTP)
    env = {
        name: base64.b64decode(one(docs, "Secret", ref["name"])["data"][ref["key"]]).decode()
        for name, ref in secret_refs(container(one(docs, "Deployment"))).items()
    }
    text = one(docs, "ConfigMap", f"{FULLNAME}-config")["data"]["gatekeeper.yaml"]

    config = config_module.parse_config(text, name="gatekeeper.yaml", env=env)

    assert config.courier.smtp.connection_uri.value == SMTP_URI
    assert config.store_dsn.dialect == "postgres"


def test_a_changed_smtp_uri_rolls_the_pods(chart: helm_python.Chart) -> None:
    def secret_checksum(values: dict[str, Any]) -> str:
        return one(render(chart, values), "Deployment")["spec"]["template"]["metadata"]["annotations"][
            "checksum/secret"
        ]

    other = merge(WITH_SMTP, {"courier": {"smtp": {"connectionUri": "smtp://mailer:n3w-pw@smtp.example.com:587/"}}})
    assert secret_checksum(WITH_SMTP) == secret_checksum(WITH_SMTP)
    assert secret_checksum(other) != secret_checksum(WITH_SMTP)


def test_without_an_smtp_uri_the_chart_sets_none(chart: helm_python.Chart) -> None:
    docs = render(chart, SCENARIOS["production-managed-secret"])

    assert "smtpConnectionURI" not in one(docs, "Secret", FULLNAME)["data"]
    assert "COURIER_SMTP_CONNECTION_URI" not in secret_refs(container(one(docs, "Deployment")))


def test_an_existing_secret_is_read_under_the_key_names_given(chart: helm_python.Chart) -> None:
    keys = {"dsn": "DATABASE_URL", "cookie": "COOKIE", "cipher": "CIPHER", "smtpConnectionUri": "SMTP_URL"}
    docs = render(chart, merge(PRODUCTION, {"secrets": {"existingSecret": "vault-synced", "keys": keys}}))

    assert [s["metadata"]["name"] for s in of_kind(docs, "Secret")] == [], "the operator's Secret, none of ours"
    for where, spec in gatekeeper_containers(docs):
        refs = secret_refs(spec)
        assert {name: ref["key"] for name, ref in refs.items()} == {
            "DSN": "DATABASE_URL", "SECRETS_COOKIE_0": "COOKIE", "SECRETS_CIPHER_0": "CIPHER",
            "COURIER_SMTP_CONNECTION_URI": "SMTP_URL",
        }, where
        assert {ref["name"] for ref in refs.values()} == {"vault-synced"}, where
        # a Secret without an SMTP URI still starts the pod; the other keys are required
        assert refs["COURIER_SMTP_CONNECTION_URI"].get("optional") is True, where
        assert "optional" not in refs["DSN"], where


@pytest.mark.parametrize(("config", "message"), [
    ({"dsn": "postgres://u:p4ss@db/gk"}, "config.dsn would be stored in a ConfigMap"),
    ({"courier": {"smtp": {"connection_uri": "smtp://u:p4ss@mail:587/"}}},
     "config.courier.smtp.connection_uri would be stored in a ConfigMap.*courier.smtp.connectionUri"),
    ({"secrets": {"cookie": ["p4ss" * 8]}}, "config.secrets would be stored in a ConfigMap"),
])
def test_secrets_put_in_config_are_refused(chart: helm_python.Chart, config: dict[str, Any], message: str) -> None:
    with pytest.raises(helm_python.HelmRenderError, match=message) as failure:
        render(chart, merge(PG_SECRETS, {"config": config}))
    assert "p4ss" not in str(failure.value)


# --- extra volumes and environment -----------------------------------------------------------------------


@pytest.mark.parametrize("scenario", ["default", "production"])
def test_extra_volumes_and_environment_reach_the_gatekeeper_containers(
    chart: helm_python.Chart, scenario: str
) -> None:
    extras = {
        "extraEnv": [{"name": "LOG_LEVEL", "value": "debug"}],
        "extraEnvFrom": [{"secretRef": {"name": "oidc-clients"}}],
        "extraVolumes": [{"name": "db-ca", "secret": {"secretName": "db-ca"}}],
        "extraVolumeMounts": [{"name": "db-ca", "mountPath": "/etc/ssl/db", "readOnly": True}],
    }
    docs = render(chart, merge(SCENARIOS[scenario], extras))
    deployment = one(docs, "Deployment")

    assert {"name": "db-ca", "secret": {"secretName": "db-ca"}} in deployment["spec"]["template"]["spec"]["volumes"]
    assert {"name": "db-ca", "mountPath": "/etc/ssl/db", "readOnly": True} in container(deployment)["volumeMounts"]
    for where, spec in gatekeeper_containers(docs):
        assert {"name": "LOG_LEVEL", "value": "debug"} in spec["env"], where
        assert spec["envFrom"] == [{"secretRef": {"name": "oidc-clients"}}], where


def test_without_extras_nothing_extra_is_rendered(chart: helm_python.Chart) -> None:
    deployment = one(render(chart), "Deployment")

    assert "envFrom" not in container(deployment)
    assert {v["name"] for v in deployment["spec"]["template"]["spec"]["volumes"]} == {"config", "tmp", "data"}


# --- ServiceMonitor ----------------------------------------------------------------------------------------


def test_service_monitor_scrapes_the_metrics_listener_only(chart: helm_python.Chart) -> None:
    docs = render(chart, SCENARIOS["production-observed"])
    monitor = one(docs, "ServiceMonitor", FULLNAME)
    selector = monitor["spec"]["selector"]["matchLabels"]
    selected = [s for s in of_kind(docs, "Service") if selector.items() <= s["metadata"]["labels"].items()]
    (endpoint,) = monitor["spec"]["endpoints"]

    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert [s["metadata"]["name"] for s in selected] == [f"{FULLNAME}-metrics"]
    (port,) = selected[0]["spec"]["ports"]
    assert endpoint["port"] == port["name"]
    numbers = {p["name"]: p["containerPort"] for p in container(one(docs, "Deployment"))["ports"]}
    assert numbers[port["targetPort"]] == 9000
    assert endpoint["path"] == "/metrics"
    assert (endpoint["interval"], endpoint["scrapeTimeout"]) == ("30s", "10s")
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack", "Prometheus' selector finds it"
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}


def test_service_monitor_is_off_by_default_and_its_durations_are_checked(chart: helm_python.Chart) -> None:
    assert of_kind(render(chart), "ServiceMonitor") == []
    monitor = one(render(chart, {"serviceMonitor": {"enabled": True, "interval": "", "scrapeTimeout": ""}}),
                  "ServiceMonitor")
    assert "interval" not in monitor["spec"]["endpoints"][0], "empty: Prometheus' own default"

    with pytest.raises(helm_python.HelmError, match="serviceMonitor/interval"):
        render(chart, {"serviceMonitor": {"enabled": True, "interval": "30 seconds"}})


# --- HorizontalPodAutoscaler ------------------------------------------------------------------------------


def test_hpa_scales_on_cpu_and_on_requests_per_second_per_pod(chart: helm_python.Chart) -> None:
    hpa = one(render(chart, SCENARIOS["production-observed"]), "HorizontalPodAutoscaler")
    cpu, pods = hpa["spec"]["metrics"]

    assert hpa["apiVersion"] == "autoscaling/v2"
    assert cpu["resource"] == {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}
    assert pods == {
        "type": "Pods",
        "pods": {
            "metric": {"name": "gatekeeper_http_requests_per_second"},
            "target": {"type": "AverageValue", "averageValue": "200"},
        },
    }
    assert [m["type"] for m in one(render(chart, PRODUCTION), "HorizontalPodAutoscaler")["spec"]["metrics"]] == [
        "Resource"
    ], "CPU only unless the custom metric is turned on"


def test_the_custom_metric_and_how_to_serve_it_are_documented() -> None:
    with helm_python.Chart.load(ROOT / "helm" / "gatekeeper") as loaded:
        name = loaded.values["autoscaling"]["podsMetric"]["name"]
    operations = (ROOT / "docs" / "operations.md").read_text()

    assert f"`{name}`" in operations
    # the prometheus-adapter rule that derives it from the counter gatekeeper exports
    rule = yaml.safe_load(re.search(r"```yaml\n(rules:\n.*?)```", operations, re.S).group(1))
    (adapter,) = [r for r in rule["rules"] if r["name"]["as"] == name]
    assert "gatekeeper_http_requests_total" in adapter["seriesQuery"]
    assert "rate(" in adapter["metricsQuery"]
