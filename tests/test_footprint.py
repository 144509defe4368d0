"""What a running `gatekeeper serve` loads: the libraries of the parts a config does not ask for (OpenTelemetry's
SDK and protobuf for tracing, py_webauthn for passkeys and security keys) stay out of the process, and so out of
the memory of every worker."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx
import pytest
import yaml

from tests.support.process import serve_process, wait_until, write_config

# `gatekeeper serve ...` in a process that, once it has stopped, prints the top-level packages it had loaded
SERVE_THEN_LIST_MODULES = """
import json, sys
from gatekeeper.cli import main
code = main(sys.argv[1:])
print("modules:", json.dumps(sorted({name.split(".")[0] for name in sys.modules})), flush=True)
sys.exit(code)
"""
OPTIONAL = ("opentelemetry", "google", "webauthn")  # google: protobuf, which OpenTelemetry's OTLP exporter loads
EVERY_OPTIONAL_PART = {
    "tracing": {"provider": "otel", "providers": {"otlp": {  # nothing sampled: nothing to send at exit
        "server_url": "127.0.0.1:9", "insecure": True, "sampling": {"sampling_ratio": 0}}}},
    "selfservice": {"methods": {
        "passkey": {"enabled": True, "config": {"rp": {"id": "localhost", "display_name": "Demo"}}},
        "webauthn": {"enabled": True, "config": {"rp": {"id": "localhost", "display_name": "Demo"}}}}},
}


def loaded_packages(tmp_path: Path, extra: dict[str, object]) -> set[str]:
    """The top-level packages a `serve --migrate` with `extra` in its config had loaded after answering a login
    flow and a whoami."""
    config = write_config(tmp_path / "gk.yaml", f"sqlite://{tmp_path}/gk.db?_fk=true")
    if extra:
        config.write_text(config.read_text() + yaml.safe_dump(extra))
    command = [sys.executable, "-c", SERVE_THEN_LIST_MODULES, "serve", "--config", str(config), "--migrate"]
    with serve_process(command, tmp_path / "log") as running:
        public = running.urls["public"]
        wait_until(lambda: httpx.get(f"{public}/health/ready").status_code == 200)  # migrated
        assert httpx.get(f"{public}/self-service/login/api").status_code == 200
        assert httpx.get(f"{public}/sessions/whoami").status_code == 401
        assert running.terminate() == 0, running.log()[-2000:]
        line = running.wait_for_line(r"^modules: ")
    return set(json.loads(line.removeprefix("modules: ")))


def test_without_tracing_and_passkeys_their_libraries_are_never_loaded(tmp_path: Path) -> None:
    assert loaded_packages(tmp_path, {}) & set(OPTIONAL) == set()


@pytest.mark.parametrize("asked", ["tracing", "selfservice"])
def test_a_config_that_asks_for_them_loads_them(tmp_path: Path, asked: str) -> None:
    wanted = {"opentelemetry", "google"} if asked == "tracing" else {"webauthn"}
    loaded = loaded_packages(tmp_path, {asked: EVERY_OPTIONAL_PART[asked]})
    assert loaded & set(OPTIONAL) == wanted
