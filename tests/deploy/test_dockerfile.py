"""The container image recipe: hadolint-clean, non-root, health-checked, and in step with the chart.

No docker engine here, so the Dockerfile is checked as text: hadolint (from the venv) for the usual
mistakes, plus a small parser for the promises the chart and operators rely on.
"""

from __future__ import annotations

import json
import subprocess
import sys
from fnmatch import fnmatch
from pathlib import Path

import helm_python
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
HADOLINT = Path(sys.executable).parent / "hadolint"
LISTENER_PORTS = {4455, 4433, 4434, 4456, 9000}

Instruction = tuple[str, str]


def parse(text: str) -> list[list[Instruction]]:
    """Instructions (keyword, arguments) grouped by build stage; comments and continuations resolved."""
    stages: list[list[Instruction]] = []
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, arguments = (pending + stripped).partition(" ")
        pending = ""
        if keyword.upper() == "FROM":
            stages.append([])
        if keyword.upper() != "ARG" or stages:
            stages[-1].append((keyword.upper(), arguments.strip()))
    return stages


def arguments(stage: list[Instruction], keyword: str) -> list[str]:
    return [args for word, args in stage if word == keyword]


def copy_sources(stage: list[Instruction]) -> list[str]:
    sources: list[str] = []
    for copy in arguments(stage, "COPY"):
        if not copy.startswith("--from="):
            sources.extend(copy.split()[:-1])
    return sources


@pytest.fixture(scope="module")
def stages() -> list[list[Instruction]]:
    return parse(DOCKERFILE.read_text())


@pytest.fixture(scope="module")
def final(stages: list[list[Instruction]]) -> list[Instruction]:
    return stages[-1]


def hadolint(path: Path) -> list[dict[str, object]]:
    result = subprocess.run(
        [str(HADOLINT), "--no-color", "--format", "json", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    findings: list[dict[str, object]] = json.loads(result.stdout or "[]")
    assert result.returncode == (1 if findings else 0), result.stderr
    return findings


def test_hadolint_finds_nothing() -> None:
    findings = hadolint(DOCKERFILE)

    assert [f"{f['line']}: {f['code']} {f['message']}" for f in findings] == []


def test_hadolint_does_report_a_bad_dockerfile(tmp_path: Path) -> None:
    """Guards the test above against a hadolint that passes everything."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN pip install flask\n")

    assert {"DL3006", "DL3013"} <= {f["code"] for f in hadolint(bad)}


def test_both_stages_use_the_same_pinned_slim_python(stages: list[list[Instruction]]) -> None:
    images = [arguments(stage, "FROM")[0].split()[0] for stage in stages]

    assert len(stages) >= 2, "multi-stage: the build tools stay in the builder"
    assert len(set(images)) == 1, "the venv links to the base interpreter: one base for every stage"
    repository, _, tag = images[0].partition(":")
    assert repository == "python" and tag.startswith("3.11-slim"), images[0]


def test_final_stage_only_copies_the_built_virtualenv(stages: list[list[Instruction]]) -> None:
    builder_name = arguments(stages[0], "FROM")[0].split()[-1]
    final = stages[-1]

    copies = arguments(final, "COPY")
    assert copies and all(copy.startswith(f"--from={builder_name} ") for copy in copies)
    for command in arguments(final, "RUN"):
        assert "pip install" not in command and "apt-get install" not in command, command


def test_runs_as_the_chart_non_root_uid(final: list[Instruction]) -> None:
    user = arguments(final, "USER")[-1]
    uid, _, gid = user.partition(":")
    with helm_python.Chart.load(REPO / "helm" / "gatekeeper") as chart:
        pod_security = chart.values["podSecurityContext"]

    assert uid.isdigit() and int(uid) != 0, "numeric, so runAsNonRoot can verify it"
    assert int(uid) == pod_security["runAsUser"] == 10001
    assert gid and int(gid) == pod_security["runAsGroup"]


def test_healthcheck_asks_the_alive_endpoint_with_python(final: list[Instruction]) -> None:
    (healthcheck,) = arguments(final, "HEALTHCHECK")
    options, _, command = healthcheck.partition(" CMD ")
    argv = json.loads(command)

    assert argv[:2] == ["python", "-c"], "slim images have no curl"
    assert "http://127.0.0.1:4433/health/alive" in argv[2]
    compile(argv[2], "HEALTHCHECK", "exec")
    assert "--timeout=" in options


def test_entrypoint_is_gatekeeper_serving_the_mounted_config(final: list[Instruction]) -> None:
    assert json.loads(arguments(final, "ENTRYPOINT")[-1]) == ["gatekeeper"], "exec form: SIGTERM reaches it"
    cmd = json.loads(arguments(final, "CMD")[-1])
    assert cmd == ["serve", "--config", "/etc/gatekeeper/gatekeeper.yaml"]
    with helm_python.Chart.load(REPO / "helm" / "gatekeeper") as chart:
        deployment = chart.render({}, name="gk", namespace="apps")["gatekeeper/templates/deployment.yaml"]
    (container,) = yaml.safe_load(deployment)["spec"]["template"]["spec"]["containers"]
    assert "command" not in container and container["args"] == cmd


def test_exposes_every_listener_the_chart_serves(final: list[Instruction]) -> None:
    exposed = {int(port.split("/")[0]) for args in arguments(final, "EXPOSE") for port in args.split()}

    assert exposed == LISTENER_PORTS


def test_dockerignore_keeps_local_state_out_but_not_the_sources(stages: list[list[Instruction]]) -> None:
    patterns = [
        line.strip() for line in DOCKERIGNORE.read_text().splitlines() if line.strip() and line[0] != "#"
    ]
    excluded = [p for p in patterns if not p.startswith("!")]

    assert {".git", ".venv", "var", "tests/artifacts"} <= set(excluded)
    assert any("__pycache__" in p for p in excluded)
    for source in copy_sources(stages[0]):
        hit = [p for p in excluded if fnmatch(source, p) or source.startswith(p.rstrip("/") + "/")]
        assert hit == [], f"COPY {source} is excluded by .dockerignore {hit}"


def test_every_file_the_builder_copies_exists(stages: list[list[Instruction]]) -> None:
    """`docker build` fails on a missing COPY source (README.md: pyproject.toml's `readme` needs it)."""
    missing = [source for source in copy_sources(stages[0]) if not (REPO / source).exists()]

    assert missing == []
