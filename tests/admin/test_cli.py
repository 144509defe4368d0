"""`gatekeeper identities import|list|get|delete` and `gatekeeper hash`, run as real processes against the store
(the config's database) and against a running admin API."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import httpx
import yaml

from gatekeeper.identity import hashformats
from tests.admin.conftest import PASSWORD, login, person
from tests.support.servers import Instance


async def cli(*args: str, stdin: bytes = b"") -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gatekeeper.cli", *args, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(stdin), timeout=120)
    return proc.returncode or 0, out.decode(), err.decode()


def config_file(tmp_path: Path, dsn: str) -> str:
    path = tmp_path / "gatekeeper.yaml"
    path.write_text(yaml.safe_dump({"dsn": dsn, "hashers": {"algorithm": "bcrypt", "bcrypt": {"cost": 4}}}))
    return str(path)


async def test_import_json_lines_into_the_store_reports_lines_and_skips_on_rerun(
        gk: Instance, sqlite_dsn: str, tmp_path: Path) -> None:
    lines = [json.dumps(person(f"jl{n}@import.test", credentials={"password": {"config": {
        "hashed_password": hashformats.make("pbkdf2-sha256", PASSWORD)}}})) for n in range(4)]
    lines.insert(2, "{not json")
    lines.append(json.dumps(person("not-an-email")))
    lines.append(json.dumps(person("hash@import.test", credentials={"password": {"config": {
        "hashed_password": "{CRYPT}nope"}}})))
    lines.append("[1, 2]")
    source = tmp_path / "identities.jsonl"
    source.write_text("\n".join(lines) + "\n")
    cfg = config_file(tmp_path, sqlite_dsn)
    code, out, err = await cli("identities", "import", str(source), "-c", cfg)
    assert code == 1
    assert "4 imported, 0 skipped (already present), 4 failed of 8" in out
    assert "line 3: not valid JSON" in err
    assert "line 6: The traits do not match" in err and "traits.email" in err
    assert "line 7: credentials.password.config.hashed_password: unsupported hash format" in err
    assert "line 8: expected a JSON object" in err
    assert "[##############################] 8/8 100%" in err
    assert (await login(gk, "jl3@import.test")).status_code == 200
    code, out, _ = await cli("identities", "import", str(source), "-c", cfg)
    assert "0 imported, 4 skipped (already present), 4 failed of 8" in out


async def test_import_as_kratos_reads_it_stdin_and_several_files(gk: Instance, tmp_path: Path) -> None:
    """Kratos' `identities import`: files holding one (pretty-printed) identity each, or stdin without files;
    `--endpoint`/`-e` names the admin API."""
    def body(email: str) -> dict[str, object]:
        return person(email, credentials={"password": {"config": {
            "hashed_password": hashformats.make("ssha256", PASSWORD)}}})

    one, two = tmp_path / "one.json", tmp_path / "two.json"
    one.write_text(json.dumps(body("one@kratos.test"), indent=2))
    two.write_text(json.dumps([body("two@kratos.test"), body("three@kratos.test")], indent=2))
    code, out, err = await cli("identities", "import", str(one), str(two), "--endpoint", gk.admin)
    assert code == 0, err
    assert f"{one}: 1 imported" in out and f"{two}: 2 imported" in out
    code, out, err = await cli("identities", "import", "-e", gk.admin,
                               stdin=json.dumps(body("piped@kratos.test"), indent=2).encode())
    assert code == 0, err
    assert "stdin: 1 imported, 0 skipped (already present), 0 failed of 1" in out
    for email in ("one@kratos.test", "three@kratos.test", "piped@kratos.test"):
        assert (await login(gk, email)).status_code == 200
    code, out, err = await cli("identities", "import", "-e", gk.admin, stdin=b'{\n  "traits": {\n')
    assert code == 1 and "not valid JSON" in err


async def test_import_array_through_the_admin_api_then_list_get_delete(gk: Instance, tmp_path: Path) -> None:
    bodies = [person(f"arr{n}@import.test", credentials={"password": {"config": {
        "hashed_password": hashformats.make("ssha256", PASSWORD)}}}) for n in range(3)]
    source = tmp_path / "identities.json"
    source.write_text(json.dumps(bodies, indent=2))
    code, out, err = await cli("identities", "import", str(source), "--admin-url", gk.admin)
    assert code == 0, err
    assert "3 imported, 0 skipped (already present), 0 failed of 3" in out
    assert (await login(gk, "arr1@import.test")).status_code == 200
    code, out, _ = await cli("identities", "list", "--admin-url", gk.admin, "--page-size", "2")
    rows = [line.split("\t") for line in out.splitlines()]
    assert sorted(r[2] for r in rows) == ["arr0@import.test", "arr1@import.test", "arr2@import.test"]
    first = rows[0][0]
    code, out, _ = await cli("identities", "get", first, "--admin-url", gk.admin)
    assert code == 0 and json.loads(out)["id"] == first
    code, out, _ = await cli("identities", "delete", first, "--admin-url", gk.admin)
    assert code == 0 and f"deleted {first}" in out
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"{gk.admin}/admin/identities/{first}")).status_code == 404
    code, _, err = await cli("identities", "get", first, "--admin-url", gk.admin)
    assert code == 1 and "HTTP 404" in err


async def test_array_with_a_broken_element_names_its_line(gk: Instance, tmp_path: Path) -> None:
    source = tmp_path / "broken.json"
    source.write_text('[\n  {"schema_id": "default", "traits": {"email": "ok@import.test"}},\n  {"schema_id": }\n]\n')
    code, out, err = await cli("identities", "import", str(source), "--admin-url", gk.admin)
    assert code == 1
    assert "line 3: not valid JSON" in err and "1 imported" in out


async def test_hash_command_output_verifies() -> None:
    for algo in ("sha512-crypt", "pbkdf2-sha512", "firescrypt", "argon2id"):
        code, out, _ = await cli("hash", algo, stdin=b"s3cret-pass\n")
        assert code == 0
        stored = out.strip()
        if algo == "argon2id":
            assert hashformats.check_importable(stored) == "argon2id"
        else:
            assert hashformats.verify(stored, "s3cret-pass") and not hashformats.verify(stored, "other")
