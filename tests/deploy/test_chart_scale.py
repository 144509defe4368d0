"""The chart for scale-out: what several replicas on PostgreSQL rely on at run time (issue #9)."""

from __future__ import annotations

import helm_python

from tests.deploy.test_chart import FULLNAME, PRODUCTION, chart, config_of, container, mounted_files, one, render

__all__ = ["chart"]  # the module-scoped fixture, shared


def test_production_mounts_rules_and_keys_so_changes_reach_running_pods(chart: helm_python.Chart) -> None:
    """No subPath: kubelet updates ConfigMap/Secret volumes in place, so rule edits hot-reload and a rotated
    JWKS is picked up within a second by every replica (gatekeeper re-reads the file), without a restart."""
    docs = render(chart, PRODUCTION)
    deployment = one(docs, "Deployment", FULLNAME)
    pod = deployment["spec"]["template"]["spec"]
    assert all("subPath" not in mount for mount in container(deployment)["volumeMounts"])
    files = mounted_files(pod, "gatekeeper")
    config = config_of(docs)
    jwks_url = config["mutators"]["id_token"]["config"]["jwks_url"]
    assert jwks_url.startswith("file://") and jwks_url.removeprefix("file://") in files
    assert any(path.startswith("/etc/gatekeeper/rules/") for path in files)
    assert config["access_rules"]["repositories"] == ["file:///etc/gatekeeper/rules/"]


def test_production_replicas_share_nothing_but_postgres(chart: helm_python.Chart) -> None:
    docs = render(chart, PRODUCTION)
    deployment = one(docs, "Deployment", FULLNAME)
    pod = deployment["spec"]["template"]["spec"]
    assert not any("persistentVolumeClaim" in volume for volume in pod["volumes"])  # stateless pods
    dsn = next(e for e in container(deployment)["env"] if e["name"] == "DSN")
    assert dsn["valueFrom"]["secretKeyRef"]["key"] == "dsn"
    affinity = pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]
    assert affinity["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    probe = container(deployment)["readinessProbe"]["httpGet"]
    assert probe["path"] == "/health/ready"  # a replica that lost PostgreSQL leaves the endpoints (503)
