"""The Docker quick start of README.md: the image built from the Dockerfile, run as the README says, in
front of an upstream on the Docker host; one request goes through with the identity header set.

The image test needs a docker engine (`docker info`) and skips with the reason otherwise; the config and
rule it mounts (`deploy/docker/`) are also served by the local gatekeeper, so they are checked everywhere.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.scale.cluster import Upstream
from tests.support.process import gatekeeper_command, serve_process

ROOT = Path(__file__).resolve().parents[2]
QUICK_START = ROOT / "deploy" / "docker"
README_UPSTREAM = "http://host.docker.internal:8080"


def quick_start_folder(tmp_path: Path, upstream: str) -> Path:
    """deploy/docker with the rule's upstream moved to the test's server (8080 may be taken here)."""
    folder = tmp_path / "docker"
    shutil.copytree(QUICK_START, folder)
    rules = folder / "rules.yaml"
    text = rules.read_text()
    assert README_UPSTREAM in text
    rules.write_text(text.replace(README_UPSTREAM, upstream))
    # the container runs as uid 10001: it must be able to read the mounted folder
    for path in (tmp_path, folder, *folder.iterdir()):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return folder


def readme_commands() -> list[list[str]]:
    """The commands of README.md's Docker section, continuation lines joined, comments dropped."""
    section = (ROOT / "README.md").read_text().split("## Docker\n", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]
    return [shlex.split(line, comments=True) for line in block.replace("\\\n", " ").splitlines() if line.strip()]


def readme_docker_run() -> list[str]:
    (command,) = [argv for argv in readme_commands() if argv[:2] == ["docker", "run"]]
    return command


def test_the_readme_command_runs_the_built_image_on_the_mounted_folder() -> None:
    """Checked without docker: the pieces of the command fit the Dockerfile and deploy/docker."""
    build = next(argv for argv in readme_commands() if argv[:2] == ["docker", "build"])
    run = readme_docker_run()
    image = build[build.index("-t") + 1]
    source, target, mode = run[run.index("-v") + 1].split(":")
    config = run[run.index("--config") + 1]
    exposed = re.search(r"^EXPOSE (.*)$", (ROOT / "Dockerfile").read_text(), re.M).group(1).split()  # type: ignore[union-attr]

    assert build[-1] == "." and image in run
    assert run[run.index(image) + 1:] == ["serve", "--config", config, "--dev", "--migrate"]
    assert source == "$PWD/deploy/docker" and mode == "ro"
    assert (QUICK_START / Path(config).relative_to(target)).is_file()
    assert run[run.index("-p") + 1] == "4455:4455" and "4455" in exposed
    assert "--add-host=host.docker.internal:host-gateway" in run
    assert README_UPSTREAM in (QUICK_START / "rules.yaml").read_text()
    assert "file:///etc/gatekeeper/rules.yaml" in (QUICK_START / "gatekeeper.yaml").read_text()


def through_the_proxy(base: str, upstream: Upstream) -> None:
    """One request through gatekeeper: the app answers, and got the identity header, not the client's."""
    response = httpx.get(f"{base}/some/page", headers={"X-User-Id": "admin"}, timeout=10)

    assert response.status_code == 200, response.text
    assert response.text == "upstream"
    assert upstream.hits[-1] == ("/some/page", "guest")


def ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/health/ready", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def docker_engine() -> str | None:
    """Why there is no usable docker engine, or None when `docker info` answers."""
    if shutil.which("docker") is None:
        return "no docker CLI on PATH"
    result = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=60, check=False)
    if result.returncode != 0:
        return f"`docker info` failed: {(result.stderr.strip().splitlines() or ['?'])[-1]}"
    return None


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    """The image built from the repository's Dockerfile (a build needs PyPI for the locked wheels)."""
    if (why := docker_engine()) is not None:
        pytest.skip(f"needs a docker engine to build and run the image: {why}")
    tag = f"gatekeeper:quickstart-test-{uuid.uuid4().hex[:8]}"
    build = subprocess.run(["docker", "build", "-t", tag, str(ROOT)], capture_output=True, text=True,
                           timeout=1800, check=False)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    yield tag
    subprocess.run(["docker", "image", "rm", "-f", tag], capture_output=True, timeout=120, check=False)


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    """The app, on every interface: the container reaches it through the Docker host gateway."""
    app = Upstream("0.0.0.0")  # noqa: S104
    yield app
    app.close()


def test_the_readme_docker_run_serves_an_app_on_the_docker_host(
    image: str, upstream: Upstream, tmp_path: Path
) -> None:
    folder = quick_start_folder(tmp_path, f"http://host.docker.internal:{upstream.port}")
    name = f"gatekeeper-quickstart-{uuid.uuid4().hex[:8]}"
    # README's command, detached, on a free loopback port, with the image just built and the test's folder
    argv = [
        {"gatekeeper:0.1.0": image, "4455:4455": "127.0.0.1::4455"}.get(arg, arg).replace(
            "$PWD/deploy/docker", str(folder)
        )
        for arg in readme_docker_run()
    ]
    argv[3:3] = ["-d", "--name", name]
    started = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    try:
        assert started.returncode == 0, started.stderr
        port = subprocess.run(["docker", "port", name, "4455/tcp"], capture_output=True, text=True,
                              timeout=30, check=True).stdout.splitlines()[0].rsplit(":", 1)[1]
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while not ready(base):
            if time.monotonic() > deadline:
                logs = subprocess.run(["docker", "logs", name], capture_output=True, text=True, timeout=30)
                pytest.fail(f"not ready within 90 s: {logs.stdout[-2000:]}{logs.stderr[-2000:]}")
            time.sleep(1)
        through_the_proxy(base, upstream)
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=60, check=False)


def test_the_quick_start_config_and_rule_serve_with_the_local_gatekeeper(
    upstream: Upstream, tmp_path: Path
) -> None:
    """What the container runs (`serve --dev --migrate` on deploy/docker), minus the container's paths."""
    folder = quick_start_folder(tmp_path, upstream.url)
    config = folder / "gatekeeper.yaml"
    config.write_text(config.read_text().replace("file:///etc/gatekeeper/", f"file://{folder}/"))
    env = {
        "DSN": f"sqlite://{tmp_path}/gatekeeper.db?_fk=true",
        **{f"SERVE_{name}_{key}": value for name in ("PROXY", "PUBLIC", "ADMIN", "API", "METRICS")
           for key, value in (("HOST", "127.0.0.1"), ("PORT", "0"))},
    }
    command = gatekeeper_command("serve", "--config", str(config), "--dev", "--migrate")
    with serve_process(command, tmp_path / "log", env=env) as running:
        deadline = time.monotonic() + 30
        while not ready(running.urls["proxy"]):
            assert time.monotonic() < deadline, running.log()[-2000:]
            time.sleep(0.1)
        through_the_proxy(running.urls["proxy"], upstream)
