"""The Helm chart as an operator meets it: it lints, renders valid Kubernetes objects, and renders the
deployment the values promise (one SQLite pod for dev; scaled, fenced PostgreSQL for production).

Everything is offline: helm-python-sdk renders the chart in-process (no cluster; `lookup` is empty) and
kubernetes-validate checks each object against the Kubernetes OpenAPI schemas it ships.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python
import kubernetes_validate
import pytest
import yaml

from tests.support.databases import create_postgres_database, drop_postgres_database

CHART = Path(__file__).resolve().parents[2] / "helm" / "gatekeeper"
PRODUCTION: dict[str, Any] = yaml.safe_load((CHART / "values-production.yaml").read_text())
SIDECAR: dict[str, Any] = yaml.safe_load((CHART / "examples" / "sidecar-values.yaml").read_text())
# Objects of CRDs (Prometheus Operator) that kubernetes-validate has no schema for; tested field by field.
CRD_KINDS = {"ServiceMonitor"}
KUBE_VERSION = "1.33.0"
# Chart.yaml's kubeVersion floor, and a recent release.
KUBE_VERSIONS = ["1.27.0", KUBE_VERSION]
RELEASE = "gk"
NAMESPACE = "apps"
FULLNAME = "gk-gatekeeper"
# Values for the production scenario in which the chart renders the Secret itself (no existingSecret).
PG_SECRETS = {
    "database": {"dsn": "postgres://gatekeeper:s3cr3t-pw@db.apps:5432/gatekeeper?sslmode=require"},
    "secrets": {"cookie": "c" * 32, "cipher": "k" * 32},
}

Doc = dict[str, Any]


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep merge as Helm layers values files: maps merge, anything else is replaced."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


SCENARIOS: dict[str, dict[str, Any]] = {
    "default": {},
    "default-persistent": {"database": {"persistence": {"enabled": True}}},
    "default-all-options": {
        "extraEnv": [{"name": "LOG_LEVEL", "value": "debug"}],
        "extraEnvFrom": [{"configMapRef": {"name": "gatekeeper-tuning"}}],
        "extraVolumes": [{"name": "db-ca", "secret": {"secretName": "db-ca"}}],
        "extraVolumeMounts": [{"name": "db-ca", "mountPath": "/etc/ssl/db", "readOnly": True}],
        "courier": {"smtp": {"connectionUri": "smtp://mailer:m41l-pw@smtp.example.com:587/"}},
        "podAnnotations": {"example.com/a": "b"},
        "podLabels": {"team": "identity"},
        "priorityClassName": "high",
        "tolerations": [{"key": "dedicated", "operator": "Exists"}],
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "imagePullSecrets": [{"name": "registry"}],
        "jwks": {"json": '{"keys": []}'},
        "serviceAccount": {"annotations": {"example.com/role": "gatekeeper"}},
        "ingress": {"enabled": True, "tlsSecretName": "app-tls", "annotations": {"example.com/x": "y"}},
        "database": {"persistence": {"enabled": True, "existingClaim": "gatekeeper-data"}},
        "podDisruptionBudget": {"enabled": True, "maxUnavailable": None, "minAvailable": 1},
        "networkPolicy": {"enabled": True, "publicFrom": [{"podSelector": {}}]},
    },
    "decisions": {"mode": "decisions"},
    "production": PRODUCTION,
    "production-decisions": merge(PRODUCTION, {"mode": "decisions"}),
    "production-observed": merge(PRODUCTION, {
        "serviceMonitor": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}},
        "autoscaling": {"podsMetric": {"enabled": True}},
    }),
    "sidecar": SIDECAR,
    "production-managed-secret": merge(
        merge(PRODUCTION, {"secrets": {"existingSecret": ""}, "database": {"driver": ""}}), PG_SECRETS
    ),
}


@pytest.fixture(scope="module")
def chart() -> Iterator[helm_python.Chart]:
    with helm_python.Chart.load(CHART) as loaded:
        yield loaded


def render(chart: helm_python.Chart, values: dict[str, Any] | None = None) -> list[Doc]:
    manifests = chart.render(values or {}, name=RELEASE, namespace=NAMESPACE, is_install=True)
    docs: list[Doc] = []
    for path in sorted(manifests):
        if path.endswith((".yaml", ".yml")):
            docs.extend(doc for doc in yaml.safe_load_all(manifests[path]) if doc)
    return docs


def of_kind(docs: list[Doc], kind: str) -> list[Doc]:
    return [doc for doc in docs if doc["kind"] == kind]


def one(docs: list[Doc], kind: str, name: str | None = None) -> Doc:
    found = [doc for doc in of_kind(docs, kind) if name is None or doc["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name or ''}, got {[d['metadata']['name'] for d in found]}"
    return found[0]


def pod_specs(docs: list[Doc]) -> list[tuple[str, Doc]]:
    specs = [
        (f"{doc['kind']}/{doc['metadata']['name']}", doc["spec"]["template"]["spec"])
        for doc in docs
        if doc["kind"] in ("Deployment", "Job")
    ]
    specs += [(f"CronJob/{doc['metadata']['name']}", cron_pod(doc)) for doc in of_kind(docs, "CronJob")]
    return specs


def cron_pod(cron_job: Doc) -> Doc:
    return cron_job["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def container(deployment: Doc) -> Doc:
    return next(c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "gatekeeper")


def port_numbers(deployment: Doc) -> dict[str, int]:
    return {p["name"]: p["containerPort"] for p in container(deployment)["ports"]}


def secret_value(docs: list[Doc], name: str, key: str) -> str:
    return base64.b64decode(one(docs, "Secret", name)["data"][key]).decode()


def hook_events(doc: Doc) -> set[str]:
    hook = doc["metadata"].get("annotations", {}).get("helm.sh/hook", "")
    return {event.strip() for event in hook.split(",") if event.strip()}


def mounted_files(pod: Doc, container_name: str) -> set[str]:
    """Paths of the files that projected/configMap/secret volumes put into the container."""
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    spec = next(c for c in pod.get("initContainers", []) + pod["containers"] if c["name"] == container_name)
    files: set[str] = set()
    for mount in spec["volumeMounts"]:
        volume = volumes[mount["name"]]
        sources = volume["projected"]["sources"] if "projected" in volume else [volume]
        for source in sources:
            for kind in ("configMap", "secret"):
                for item in source.get(kind, {}).get("items", []):
                    files.add(f"{mount['mountPath']}/{item['path']}")
    return files


def config_of(docs: list[Doc], name: str = f"{FULLNAME}-config") -> Doc:
    return yaml.safe_load(one(docs, "ConfigMap", name)["data"]["gatekeeper.yaml"])


def checksum(chart: helm_python.Chart, values: dict[str, Any]) -> str:
    deployment = one(render(chart, values), "Deployment")
    return deployment["spec"]["template"]["metadata"]["annotations"]["checksum/config"]


# --- the chart as a whole ---------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_lint_reports_no_warning_or_error(scenario: str) -> None:
    report = helm_python.lint(CHART, SCENARIOS[scenario], strict=True, kube_version=f"v{KUBE_VERSION}")

    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert problems == [] and report["errors"] == []


def test_lint_does_report_values_the_schema_refuses() -> None:
    """Guards the test above against a lint that passes everything."""
    report = helm_python.lint(CHART, {"mode": "gateway"}, strict=True)

    assert any("sidecar" in error for error in report["errors"])


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_object_is_valid_for_kubernetes(
    chart: helm_python.Chart, scenario: str, kube_version: str
) -> None:
    docs = render(chart, SCENARIOS[scenario])

    invalid = []
    for doc in docs:
        if doc["kind"] in CRD_KINDS:
            continue
        try:
            kubernetes_validate.validate(doc, kube_version, strict=True)
        except kubernetes_validate.ValidationError as error:
            invalid.append(f"{doc['kind']}/{doc['metadata']['name']}: {error.message} at {list(error.path)}")
    assert invalid == []
    sidecar = SCENARIOS[scenario].get("mode") == "sidecar"  # the app's pod runs gatekeeper: no pods of its own
    expected = {"ConfigMap"} if sidecar else {"Deployment", "ConfigMap", "Service", "ServiceAccount"}
    assert expected <= {doc["kind"] for doc in docs}


def test_an_unknown_mode_is_refused_by_the_values_schema(chart: helm_python.Chart) -> None:
    with pytest.raises(helm_python.HelmError, match="sidecar"):
        render(chart, {"mode": "gateway"})


# --- dev default: one SQLite pod -----------------------------------------------------------------------


def test_default_is_one_sqlite_pod_that_migrates_its_own_volume(chart: helm_python.Chart) -> None:
    docs = render(chart)
    deployment = one(docs, "Deployment", FULLNAME)
    pod = deployment["spec"]["template"]["spec"]

    assert deployment["spec"]["replicas"] == 1
    assert of_kind(docs, "Job") == [] and of_kind(docs, "HorizontalPodAutoscaler") == []
    dsn = secret_value(docs, FULLNAME, "dsn")
    assert dsn.startswith("sqlite:///var/lib/gatekeeper/")
    # the database file is on a writable volume mounted where the DSN points, in both containers
    data = next(v for v in pod["volumes"] if v["name"] == "data")
    assert "emptyDir" in data
    for spec in pod["initContainers"] + pod["containers"]:
        assert {"name": "data", "mountPath": "/var/lib/gatekeeper"} in spec["volumeMounts"]
    migrate = next(c for c in pod["initContainers"] if c["name"] == "migrate")
    assert migrate["args"][:2] == ["migrate", "up"]
    # two pods must never open one SQLite file: no overlapping rollout
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}


@pytest.mark.parametrize(("values", "workers"), [
    pytest.param({}, 1, id="no CPU limit: one process"),
    pytest.param({"resources": {"limits": {"cpu": "1500m"}}}, 2, id="millicores round up"),
    pytest.param({"resources": {"limits": {"cpu": 4}}}, 4, id="whole CPUs"),
    pytest.param({"resources": {"limits": {"cpu": "250m"}}}, 1, id="less than a CPU: one process"),
    pytest.param({"resources": {"limits": {"cpu": 4}}, "config": {"serve": {"workers": 2}}}, 2,
                 id="the config's own value wins"),
])
def test_workers_follow_the_cpu_limit(chart: helm_python.Chart, values: dict[str, Any], workers: int) -> None:
    assert config_of(render(chart, values))["serve"]["workers"] == workers


def test_sqlite_persistence_uses_a_claim_kept_on_uninstall(chart: helm_python.Chart) -> None:
    docs = render(chart, SCENARIOS["default-persistent"])
    claim = one(docs, "PersistentVolumeClaim", f"{FULLNAME}-data")
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]

    data = next(v for v in pod["volumes"] if v["name"] == "data")
    assert data["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


def test_sqlite_dev_secrets_are_generated_with_valid_lengths(chart: helm_python.Chart) -> None:
    docs = render(chart)

    assert len(secret_value(docs, FULLNAME, "secretsCookie")) >= 16
    assert len(secret_value(docs, FULLNAME, "secretsCipher")) == 32


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"replicaCount": 2}, "replicaCount=2 needs PostgreSQL"),
        ({"autoscaling": {"enabled": True}}, "autoscaling.enabled needs PostgreSQL"),
        (
            {"replicaCount": 3, "secrets": {"existingSecret": "mine"}, "database": {"driver": "sqlite"}},
            "replicaCount=3 needs PostgreSQL",
        ),
    ],
)
def test_sqlite_refuses_more_than_one_replica(
    chart: helm_python.Chart, values: dict[str, Any], message: str
) -> None:
    with pytest.raises(helm_python.HelmRenderError, match=message):
        render(chart, values)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"secrets": {"existingSecret": "mine"}}, "database.driver must be set"),
        ({"database": {"dsn": "postgres://u:p@db/gk"}}, "required on PostgreSQL"),
        ({"database": {"dsn": "mysql://u:p@db/gk"}}, 'got scheme "mysql"'),
        ({"secrets": {"cookie": "too-short"}}, "at least 16 characters"),
        ({"secrets": {"cipher": "not-32-characters"}}, "exactly 32 characters"),
        ({"rules": None}, "would never become ready"),
        (merge(PG_SECRETS, {"autoscaling": {"enabled": True}, "resources": None}), "requests.cpu"),
    ],
)
def test_misconfigurations_fail_with_a_clear_message(
    chart: helm_python.Chart, values: dict[str, Any], message: str
) -> None:
    with pytest.raises(helm_python.HelmRenderError, match=message) as failure:
        render(chart, values)
    assert "u:p@" not in str(failure.value), "a DSN password must never appear in an error"


# --- production: PostgreSQL, scaled out ----------------------------------------------------------------


def test_production_scales_out_on_postgres(chart: helm_python.Chart) -> None:
    docs = render(chart, PRODUCTION)
    deployment = one(docs, "Deployment", FULLNAME)
    hpa = one(docs, "HorizontalPodAutoscaler")

    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": FULLNAME}
    assert hpa["spec"]["minReplicas"] >= 2
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    assert "replicas" not in deployment["spec"], "the HPA owns the replica count"
    assert "data" not in {v["name"] for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_production_without_autoscaling_runs_several_replicas(chart: helm_python.Chart) -> None:
    docs = render(chart, merge(PRODUCTION, {"autoscaling": {"enabled": False}}))

    assert one(docs, "Deployment")["spec"]["replicas"] >= 2
    assert of_kind(docs, "HorizontalPodAutoscaler") == []


def test_production_budget_and_spread_select_the_serving_pods(chart: helm_python.Chart) -> None:
    docs = render(chart, PRODUCTION)
    deployment = one(docs, "Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    pdb = one(docs, "PodDisruptionBudget")

    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert pdb["spec"]["maxUnavailable"] == 1
    preferred = deployment["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"][
        "preferredDuringSchedulingIgnoredDuringExecution"
    ]
    term = preferred[0]["podAffinityTerm"]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert term["labelSelector"]["matchLabels"].items() <= pod_labels.items()


@pytest.mark.parametrize("scenario", ["production", "production-managed-secret"])
def test_production_migrates_in_a_hook_job_before_pods_roll(chart: helm_python.Chart, scenario: str) -> None:
    docs = render(chart, SCENARIOS[scenario])
    job = one(docs, "Job", f"{FULLNAME}-migrations")
    pod = job["spec"]["template"]["spec"]
    (migrate,) = pod["containers"]

    assert hook_events(job) == {"pre-install", "pre-upgrade"}
    assert migrate["args"] == ["migrate", "up", "--config", "/etc/gatekeeper/gatekeeper.yaml"]
    assert pod["restartPolicy"] == "Never"
    # the Job must not depend on objects that only appear after the hooks have run
    assert "serviceAccountName" not in pod
    job_weight = int(job["metadata"]["annotations"]["helm.sh/hook-weight"])
    dsn_secret = next(e for e in migrate["env"] if e["name"] == "DSN")["valueFrom"]["secretKeyRef"]["name"]
    needed = {("Secret", dsn_secret)}
    for volume in pod["volumes"]:
        for source in volume.get("projected", {}).get("sources", []):
            if "configMap" in source:
                needed.add(("ConfigMap", source["configMap"]["name"]))
            if "secret" in source:
                needed.add(("Secret", source["secret"]["name"]))
    operator_made = {
        ("Secret", PRODUCTION["secrets"]["existingSecret"]),
        ("Secret", PRODUCTION["jwks"]["existingSecret"]),
    }
    for kind, name in needed - operator_made:
        dependency = one(docs, kind, name)
        assert hook_events(dependency) >= {"pre-install", "pre-upgrade"}, f"{kind}/{name} is not a hook"
        assert int(dependency["metadata"]["annotations"]["helm.sh/hook-weight"]) < job_weight
    # the Job reads the same DSN as the serving pods
    deployment_dsn = next(e for e in container(one(docs, "Deployment"))["env"] if e["name"] == "DSN")
    if scenario == "production":
        assert deployment_dsn["valueFrom"]["secretKeyRef"]["name"] == dsn_secret
    else:
        assert secret_value(docs, dsn_secret, "dsn") == secret_value(docs, FULLNAME, "dsn")


@pytest.mark.parametrize("scenario", ["production", "production-managed-secret"])
def test_production_cleans_up_from_a_cronjob_with_the_serving_pods_settings(
    chart: helm_python.Chart, scenario: str
) -> None:
    docs = render(chart, SCENARIOS[scenario])
    cron_job = one(docs, "CronJob", f"{FULLNAME}-cleanup")
    pod = cron_pod(cron_job)
    (cleanup,) = pod["containers"]
    serving = container(one(docs, "Deployment"))

    assert cleanup["args"] == ["cleanup", "--config", "/etc/gatekeeper/gatekeeper.yaml"]
    assert cron_job["spec"]["schedule"] == "17 * * * *"
    assert cron_job["spec"]["concurrencyPolicy"] == "Forbid"
    assert pod["restartPolicy"] == "Never"
    assert cleanup["image"] == serving["image"]
    assert cleanup["env"] == serving["env"], "the same DSN, secrets and extra environment as the serving pods"
    assert cleanup["securityContext"] == serving["securityContext"]
    assert cleanup["resources"] == PRODUCTION["cleanup"]["cronJob"]["resources"]
    config_sources = {s["configMap"]["name"] for s in pod["volumes"][0]["projected"]["sources"] if "configMap" in s}
    assert f"{FULLNAME}-config" in config_sources, "the release's own config, not a hook copy deleted after install"
    assert "/etc/gatekeeper/gatekeeper.yaml" in mounted_files(pod, "cleanup")
    assert "/etc/gatekeeper/rules/app.yaml" in mounted_files(pod, "cleanup")


@pytest.fixture
def fresh_postgres_dsn(postgres_dsn: str) -> Iterator[str]:
    """A database of this test's own, not yet migrated (postgres_dsn, the session's, may be; requesting it
    skips or fails the test as everywhere when PostgreSQL is unusable)."""
    dsn, why = create_postgres_database()
    assert dsn is not None, why
    yield dsn
    drop_postgres_database(dsn)


async def test_the_cronjob_command_cleans_up_a_postgres_database(
    chart: helm_python.Chart, fresh_postgres_dsn: str, tmp_path: Path
) -> None:
    """The CronJob's args, the chart's rendered gatekeeper.yaml and the Secret's DSN: one clean-up run."""
    store_module = pytest.importorskip("gatekeeper.store")
    dsn_module = pytest.importorskip("gatekeeper.config.dsn")
    postgres_dsn = fresh_postgres_dsn
    docs = render(chart, merge(SCENARIOS["production-managed-secret"], {"database": {"dsn": postgres_dsn}}))
    (cleanup,) = cron_pod(one(docs, "CronJob"))["containers"]
    (tmp_path / "gatekeeper.yaml").write_text(one(docs, "ConfigMap", f"{FULLNAME}-config")["data"]["gatekeeper.yaml"])
    # no pause between tables (database.cleanup.sleep.tables, 1m by default), overridden the Kratos way
    env = {**os.environ, "DSN": secret_value(docs, FULLNAME, "dsn"), "DATABASE_CLEANUP_SLEEP_TABLES": "0s"}
    args = [str(tmp_path / "gatekeeper.yaml") if a == "/etc/gatekeeper/gatekeeper.yaml" else a for a in cleanup["args"]]
    command = [sys.executable, "-m", "gatekeeper.cli", *args]

    unmigrated = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    store = await store_module.open_store(dsn_module.Dsn.parse(postgres_dsn))
    try:
        await store.migrate()
    finally:
        await store.close()
    migrated = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)

    assert unmigrated.returncode == 1 and "gatekeeper migrate up" in unmigrated.stderr
    assert migrated.returncode == 0, migrated.stderr
    assert "sessions" in migrated.stdout and "deleted" in migrated.stdout


def test_cleanup_cronjob_is_off_by_default_and_refused_on_sqlite(chart: helm_python.Chart) -> None:
    assert of_kind(render(chart), "CronJob") == []

    with pytest.raises(helm_python.HelmRenderError, match="cleanup.cronJob.enabled needs PostgreSQL"):
        render(chart, {"cleanup": {"cronJob": {"enabled": True}}})


def test_cleanup_cronjob_name_leaves_room_for_its_jobs(chart: helm_python.Chart) -> None:
    docs = render(chart, merge(PRODUCTION, {"fullnameOverride": "g" * 60}))

    (cron_job,) = of_kind(docs, "CronJob")
    assert len(cron_job["metadata"]["name"]) <= 52


def test_production_postgres_dsn_stays_out_of_configmaps(chart: helm_python.Chart) -> None:
    docs = render(chart, SCENARIOS["production-managed-secret"])

    for config_map in of_kind(docs, "ConfigMap"):
        assert "s3cr3t-pw" not in yaml.safe_dump(config_map)
    assert secret_value(docs, FULLNAME, "dsn") == PG_SECRETS["database"]["dsn"]
    env = {e["name"]: e for e in container(one(docs, "Deployment"))["env"]}
    for name, key in [
        ("DSN", "dsn"),
        ("SECRETS_COOKIE_0", "secretsCookie"),
        ("SECRETS_CIPHER_0", "secretsCipher"),
    ]:
        assert env[name]["valueFrom"]["secretKeyRef"] == {"name": FULLNAME, "key": key}


def test_admin_api_is_reachable_only_from_the_namespace(chart: helm_python.Chart) -> None:
    extra = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ops"}}}
    docs = render(chart, merge(PRODUCTION, {"networkPolicy": {"adminFrom": [extra]}}))
    deployment = one(docs, "Deployment")
    policy = one(docs, "NetworkPolicy")
    numbers = port_numbers(deployment)

    assert numbers["admin"] == 4434
    assert (
        policy["spec"]["podSelector"]["matchLabels"].items()
        <= deployment["spec"]["template"]["metadata"]["labels"].items()
    )
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    admin_rules = [
        rule
        for rule in policy["spec"]["ingress"]
        if any(numbers.get(p["port"], p["port"]) == 4434 for p in rule["ports"])
    ]
    assert len(admin_rules) == 1
    # podSelector {} alone = pods of the release's own namespace; plus exactly the configured extra peer
    assert admin_rules[0]["from"] == [{"podSelector": {}}, extra]
    # the internet-facing proxy is not fenced in
    proxy_rule = next(
        r for r in policy["spec"]["ingress"] if {"port": "proxy", "protocol": "TCP"} in r["ports"]
    )
    assert "from" not in proxy_rule


def test_one_service_per_listener_and_admin_is_never_exposed(chart: helm_python.Chart) -> None:
    docs = render(chart, {"service": {"proxy": {"type": "LoadBalancer"}, "public": {"type": "LoadBalancer"}}})
    deployment = one(docs, "Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    numbers = port_numbers(deployment)
    services = {doc["metadata"]["name"].removeprefix(f"{FULLNAME}-"): doc for doc in of_kind(docs, "Service")}

    assert numbers == {"proxy": 4455, "public": 4433, "admin": 4434, "api": 4456, "metrics": 9000}
    assert set(services) == set(numbers)
    for listener, service in services.items():
        (port,) = service["spec"]["ports"]
        assert port["targetPort"] == listener
        assert service["spec"]["selector"].items() <= pod_labels.items()
    assert services["proxy"]["spec"]["type"] == "LoadBalancer"
    assert services["admin"]["spec"]["type"] == "ClusterIP"
    # a migration Job's pod must never receive Service traffic
    job_labels = one(render(chart, PRODUCTION), "Job")["spec"]["template"]["metadata"]["labels"]
    assert not services["proxy"]["spec"]["selector"].items() <= job_labels.items()


def test_admin_service_type_cannot_be_set(chart: helm_python.Chart) -> None:
    with pytest.raises(helm_python.HelmError, match="service/admin"):
        render(chart, {"service": {"admin": {"type": "LoadBalancer"}}})


# --- every scenario: hardened pods, health probes, mounted config ------------------------------------


@pytest.mark.parametrize("scenario", ["default", "production"])
def test_pods_run_non_root_on_a_read_only_root_filesystem(chart: helm_python.Chart, scenario: str) -> None:
    for where, pod in pod_specs(render(chart, SCENARIOS[scenario])):
        security = pod["securityContext"]
        assert security["runAsNonRoot"] is True, where
        assert security["runAsUser"] == 10001, where
        assert security["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert pod["automountServiceAccountToken"] is False, where
        tmp = next(v for v in pod["volumes"] if v["name"] == "tmp")
        assert "emptyDir" in tmp, where
        for spec in pod.get("initContainers", []) + pod["containers"]:
            context = spec["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["capabilities"] == {"drop": ["ALL"]}, where
            assert {"name": "tmp", "mountPath": "/tmp"} in spec["volumeMounts"], where


@pytest.mark.parametrize("scenario", ["default", "production"])
def test_probes_hit_the_health_endpoints(chart: helm_python.Chart, scenario: str) -> None:
    deployment = one(render(chart, SCENARIOS[scenario]), "Deployment")
    gatekeeper = container(deployment)
    numbers = port_numbers(deployment)

    assert gatekeeper["livenessProbe"]["httpGet"]["path"] == "/health/alive"
    assert gatekeeper["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert gatekeeper[probe]["httpGet"]["port"] in numbers


@pytest.mark.parametrize("scenario", ["default", "production", "production-managed-secret"])
def test_every_file_the_config_names_is_mounted(chart: helm_python.Chart, scenario: str) -> None:
    docs = render(chart, SCENARIOS[scenario])
    deployment_pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    targets = [("Deployment", config_of(docs), mounted_files(deployment_pod, "gatekeeper"))]
    for job in of_kind(docs, "Job"):
        pod = job["spec"]["template"]["spec"]
        targets.append(
            ("Job", config_of(docs, f"{FULLNAME}-migrations-config"), mounted_files(pod, "migrate"))
        )

    for where, config, files in targets:
        assert "/etc/gatekeeper/gatekeeper.yaml" in files, where
        urls = [schema["url"] for schema in config["identity"]["schemas"]]
        urls += config["access_rules"]["repositories"]
        jwks_url = config.get("mutators", {}).get("id_token", {}).get("config", {}).get("jwks_url")
        if jwks_url and where == "Deployment":
            urls.append(jwks_url)
        for url in urls:
            assert url.startswith("file://"), url
            path = url.removeprefix("file://")
            if path.endswith("/"):
                assert any(f.startswith(path) for f in files), f"{where}: nothing mounted under {path}"
            else:
                assert path in files, f"{where}: {path} is not mounted"


@pytest.mark.parametrize("scenario", ["default", "production-managed-secret", "production-decisions"])
def test_gatekeeper_accepts_the_rendered_config(chart: helm_python.Chart, scenario: str) -> None:
    """What `gatekeeper config check` runs, with the environment the pod gets from the Secret."""
    config_module = pytest.importorskip("gatekeeper.config")
    docs = render(chart, SCENARIOS[scenario])
    deployment = one(docs, "Deployment")
    env = {"SECRETS_COOKIE_0": "c" * 32, "SECRETS_CIPHER_0": "k" * 32, "DSN": PG_SECRETS["database"]["dsn"]}
    if not of_kind(docs, "Job"):
        env["DSN"] = secret_value(docs, FULLNAME, "dsn")
    for variable in container(deployment)["env"]:
        if "value" in variable:
            env[variable["name"]] = variable["value"]
    files = one(docs, "ConfigMap", f"{FULLNAME}-config")["data"]

    config = config_module.parse_config(files["gatekeeper.yaml"], name="gatekeeper.yaml", env=env)

    assert config.store_dsn.dialect == ("postgres" if of_kind(docs, "Job") else "sqlite")
    for name, schema in files.items():
        if name.endswith(".json"):
            json.loads(schema)
    # a terminating pod pauses in preStop, then drains for serve.shutdown_timeout: all within the grace
    pre_stop = " ".join(container(deployment)["lifecycle"]["preStop"]["exec"]["command"])
    pause = int(re.search(r"sleep\((\d+)\)", pre_stop).group(1))
    grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace > pause + float(config.serve.shutdown_timeout)


def test_rules_are_rendered_as_files_under_the_rules_directory(chart: helm_python.Chart) -> None:
    raw = "- id: raw\n  match: {url: 'http://x/<.*>', methods: [GET]}\n"
    docs = render(chart, {"rules": {"raw.yaml": raw}})
    rules = one(docs, "ConfigMap", f"{FULLNAME}-rules")["data"]

    assert yaml.safe_load(rules["raw.yaml"]) == yaml.safe_load(raw)
    assert yaml.safe_load(rules["app.yaml"])[0]["id"] == "app", "the default rule file stays unless nulled"
    assert config_of(docs)["access_rules"]["repositories"] == ["file:///etc/gatekeeper/rules/"]


def test_changed_config_or_rules_roll_the_pods(chart: helm_python.Chart) -> None:
    base = checksum(chart, {})

    assert checksum(chart, {}) == base, "the same values must not roll pods (GitOps re-renders)"
    assert checksum(chart, {"config": {"log": {"level": "debug"}}}) != base
    new_rules = {
        "rules": {"extra.yaml": [{"id": "extra", "match": {"url": "http://x/", "methods": ["GET"]}}]}
    }
    assert checksum(chart, new_rules) != base
    assert checksum(chart, {"resources": {"requests": {"cpu": "1"}}}) == base


# --- decisions mode --------------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", ["decisions", "production-decisions"])
def test_decisions_mode_renders_an_ingress_nginx_auth_ingress(
    chart: helm_python.Chart, scenario: str
) -> None:
    values = SCENARIOS[scenario]
    docs = render(chart, values)
    ingress = one(docs, "Ingress", f"{FULLNAME}-app")
    annotations = ingress["metadata"]["annotations"]
    api = one(docs, "Service", f"{FULLNAME}-api")

    api_port = api["spec"]["ports"][0]["port"]
    assert annotations["nginx.ingress.kubernetes.io/auth-url"] == (
        f"http://{FULLNAME}-api.{NAMESPACE}.svc.cluster.local:{api_port}/decisions$request_uri"
    )
    headers = annotations["nginx.ingress.kubernetes.io/auth-response-headers"].split(",")
    assert {"X-User-Id", "X-User-Email", "Authorization"} <= set(headers)
    # ingress-nginx sends the original method/scheme/host along, from a ConfigMap in this namespace
    header_map = annotations["nginx.ingress.kubernetes.io/auth-proxy-set-headers"]
    assert one(docs, "ConfigMap", header_map.split("/")[1])["data"]["X-Forwarded-Host"] == "$host"
    assert header_map.split("/")[0] == NAMESPACE
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "app", "port": {"number": 8080}}
    # the login UI is served by gatekeeper on the app's own host
    auth = one(docs, "Ingress", f"{FULLNAME}-auth")
    assert auth["spec"]["rules"][0]["host"] == ingress["spec"]["rules"][0]["host"]
    (path,) = auth["spec"]["rules"][0]["http"]["paths"]
    assert path["path"] == "/.auth" and path["backend"]["service"]["name"] == f"{FULLNAME}-proxy"
    assert annotations["nginx.ingress.kubernetes.io/auth-signin"].endswith(
        "/.auth/self-service/login/browser"
    )


def test_decisions_mode_lets_the_ingress_controller_reach_the_access_api(chart: helm_python.Chart) -> None:
    docs = render(chart, SCENARIOS["production-decisions"])
    policy = one(docs, "NetworkPolicy")

    api_rule = next(r for r in policy["spec"]["ingress"] if {"port": "api", "protocol": "TCP"} in r["ports"])
    assert {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}
    } in api_rule["from"]


def test_proxy_mode_renders_no_auth_ingress(chart: helm_python.Chart) -> None:
    for values in ({}, PRODUCTION):
        for ingress in of_kind(render(chart, values), "Ingress"):
            assert "nginx.ingress.kubernetes.io/auth-url" not in ingress["metadata"].get("annotations", {})
            for rule in ingress["spec"]["rules"]:
                for path in rule["http"]["paths"]:
                    assert path["backend"]["service"]["name"] == f"{FULLNAME}-proxy"
