"""mode=sidecar: gatekeeper as a container in the app's pod, in front of the app on 127.0.0.1.

The chart renders the config, rules, Secret and migrations, and prints (NOTES) the container and volumes a
team adds to its pod spec; examples/sidecar-app.yaml is such a pod, checked against what the chart prints.
"""

from __future__ import annotations

from typing import Any

import helm_python
import kubernetes_validate
import pytest
import yaml

from tests.deploy.test_chart import CHART, KUBE_VERSIONS, SIDECAR, Doc, chart, merge, of_kind, one

__all__ = ["chart"]  # the module-scoped fixture, shared

EXAMPLE: list[Doc] = [doc for doc in yaml.safe_load_all((CHART / "examples" / "sidecar-app.yaml").read_text()) if doc]
# What sidecar-values.yaml's comment installs: `helm install gatekeeper ... -n shop`.
RELEASE = "gatekeeper"
NAMESPACE = "shop"
SNIPPET_START = "# --- gatekeeper sidecar: add to the pod spec ---"
SNIPPET_END = "# --- end of the gatekeeper sidecar ---"
# Rules of a sidecar install that leave the upstream to the chart.
RULES = {"app.yaml": [{"id": "app", "match": {"url": "http://shop.local/<.*>", "methods": ["GET"]},
                       "authenticators": [{"handler": "anonymous"}], "authorizer": {"handler": "allow"},
                       "mutators": [{"handler": "noop"}]}]}


def render_all(chart: helm_python.Chart, values: dict[str, Any]) -> tuple[list[Doc], str]:
    """The objects and the NOTES of an install of the example's release."""
    manifests = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    docs = [
        doc
        for path, text in sorted(manifests.items())
        if path.endswith(".yaml")
        for doc in yaml.safe_load_all(text)
        if doc
    ]
    return docs, manifests["gatekeeper/templates/NOTES.txt"]


def snippet(notes: str) -> Doc:
    """The pod-spec fragment NOTES prints between its marker lines."""
    start, end = notes.index(SNIPPET_START), notes.index(SNIPPET_END)
    fragment: Doc = yaml.safe_load(notes[start:end])
    return fragment


def example_pod() -> Doc:
    return one(EXAMPLE, "Deployment")["spec"]["template"]["spec"]


def by_name(items: list[Doc]) -> dict[str, Doc]:
    return {item["name"]: item for item in items}


def test_sidecar_mode_renders_what_the_pod_needs_but_no_pods_or_services(chart: helm_python.Chart) -> None:
    docs, _ = render_all(chart, SIDECAR)
    kinds = {doc["kind"] for doc in docs}

    assert not kinds & {"Deployment", "Service", "ServiceAccount", "HorizontalPodAutoscaler", "Ingress"}
    assert {f"{RELEASE}-config", f"{RELEASE}-rules"} <= {d["metadata"]["name"] for d in of_kind(docs, "ConfigMap")}
    # PostgreSQL: the pre-install hook migrates before any app pod starts its sidecar
    assert one(docs, "Job", f"{RELEASE}-migrations")["spec"]["template"]["spec"]["containers"][0]["args"][:2] == [
        "migrate", "up",
    ]


def test_rules_without_an_upstream_go_to_the_app_in_the_same_pod(chart: helm_python.Chart) -> None:
    rules_module = pytest.importorskip("gatekeeper.access.rules")
    docs, _ = render_all(chart, SIDECAR)
    files = one(docs, "ConfigMap", f"{RELEASE}-rules")["data"]

    (rule,) = rules_module.parse_rules(files["shop.yaml"], "shop.yaml")
    assert rule.spec.upstream.url == f"http://127.0.0.1:{SIDECAR['sidecar']['appPort']}"
    assert rule.spec.upstream.preserve_host is True
    other_port = render_all(chart, {"mode": "sidecar", "sidecar": {"appPort": 3000}, "rules": RULES})[0]
    assert "url: http://127.0.0.1:3000" in one(other_port, "ConfigMap", f"{RELEASE}-rules")["data"]["app.yaml"]


def test_a_rule_sending_outside_the_pod_is_refused(chart: helm_python.Chart) -> None:
    """The chart's example rule sends to the Service app:8080: in a sidecar that would bypass the pod's app."""
    with pytest.raises(helm_python.HelmRenderError, match=r'rule "app" in rules.app.yaml sends to http://app:8080'):
        render_all(chart, {"mode": "sidecar"})


@pytest.mark.parametrize("key", ["autoscaling", "podDisruptionBudget", "networkPolicy", "ingress", "serviceMonitor"])
def test_objects_of_gatekeepers_own_pods_are_refused_in_sidecar_mode(chart: helm_python.Chart, key: str) -> None:
    values = merge(SIDECAR, {key: {"enabled": True}})

    with pytest.raises(helm_python.HelmRenderError, match=f"mode=sidecar .* so {key}.enabled"):
        render_all(chart, values)


def test_the_printed_container_cannot_clash_with_the_apps_names(chart: helm_python.Chart) -> None:
    _, notes = render_all(chart, SIDECAR)
    pod = snippet(notes)
    (gatekeeper,) = pod["containers"]
    ports = {port["name"]: port["containerPort"] for port in gatekeeper["ports"]}

    assert ports == {"gk-proxy": 4455, "gk-public": 4433, "gk-admin": 4434, "gk-api": 4456, "gk-metrics": 9000}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert gatekeeper[probe]["httpGet"]["port"] in ports
    assert {v["name"] for v in pod["volumes"]} == {m["name"] for m in gatekeeper["volumeMounts"]}
    assert all(v["name"].startswith("gatekeeper-") for v in pod["volumes"])
    # the app's pod security context is the app's: the container brings gatekeeper's uid and seccomp itself
    assert gatekeeper["securityContext"]["runAsUser"] == 10001
    assert gatekeeper["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert gatekeeper["securityContext"]["readOnlyRootFilesystem"] is True


def test_on_sqlite_the_sidecar_migrates_its_own_database_on_start(chart: helm_python.Chart) -> None:
    """No init container to paste: `serve --migrate` migrates the file on the pod's own volume."""
    docs, notes = render_all(chart, {"mode": "sidecar", "rules": RULES})
    pod = snippet(notes)
    (gatekeeper,) = pod["containers"]

    assert gatekeeper["args"] == ["serve", "--config", "/etc/gatekeeper/gatekeeper.yaml", "--migrate"]
    assert {"name": "gatekeeper-data", "mountPath": "/var/lib/gatekeeper"} in gatekeeper["volumeMounts"]
    assert by_name(pod["volumes"])["gatekeeper-data"] == {"name": "gatekeeper-data", "emptyDir": {}}
    assert of_kind(docs, "Job") == []
    assert "run the app with one replica" in notes


def test_the_example_holds_exactly_what_the_chart_prints(chart: helm_python.Chart) -> None:
    docs, notes = render_all(chart, SIDECAR)
    printed = snippet(notes)
    pod = example_pod()

    assert by_name(pod["containers"])["gatekeeper"] == printed["containers"][0]
    example_volumes = by_name(pod["volumes"])
    for volume in printed["volumes"]:
        assert example_volumes[volume["name"]] == volume
    # every ConfigMap the pod mounts is one the release renders; the Secret is the operator's (existingSecret)
    rendered = {doc["metadata"]["name"] for doc in of_kind(docs, "ConfigMap")}
    for volume in printed["volumes"]:
        for source in volume.get("projected", {}).get("sources", []):
            assert source["configMap"]["name"] in rendered
    secret_refs = {e["valueFrom"]["secretKeyRef"]["name"] for e in printed["containers"][0]["env"]}
    assert secret_refs == {SIDECAR["secrets"]["existingSecret"]}


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
def test_the_example_is_valid_for_kubernetes(kube_version: str) -> None:
    for doc in EXAMPLE:
        kubernetes_validate.validate(doc, kube_version, strict=True)
    assert {doc["kind"] for doc in EXAMPLE} == {"Deployment", "Service"}


def test_in_the_example_only_gatekeeper_is_reachable(chart: helm_python.Chart) -> None:
    pod = example_pod()
    app = by_name(pod["containers"])["shop"]
    service = one(EXAMPLE, "Service")
    (port,) = service["spec"]["ports"]
    gatekeeper_ports = {p["name"]: p["containerPort"] for p in by_name(pod["containers"])["gatekeeper"]["ports"]}

    assert gatekeeper_ports[port["targetPort"]] == 4455, "the Service sends clients to gatekeeper's proxy"
    assert service["spec"]["selector"].items() <= one(EXAMPLE, "Deployment")["spec"]["template"]["metadata"][
        "labels"
    ].items()
    # the app listens on the loopback interface of the pod, on the port the rules send to
    assert f"-listen=127.0.0.1:{SIDECAR['sidecar']['appPort']}" in app["args"]
    assert "ports" not in app
