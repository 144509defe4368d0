"""`gatekeeper identities import|list|get|delete` (and Kratos' spellings: `list identities`, `get identity`,
`delete identity`), `gatekeeper hash` and Oathkeeper's `rules get|list`, run as real processes against the store
(the config's database) and against a running gatekeeper's admin and API listeners."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import httpx
import ory_kratos_client as k
import yaml

from gatekeeper.identity import hashformats
from tests.admin.conftest import PASSWORD, login, person
from tests.support.servers import Instance


async def cli(*args: str, stdin: bytes = b"", env: dict[str, str] | None = None) -> tuple[int, str, str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("KRATOS_ADMIN_URL", "GATEKEEPER_CONFIG")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gatekeeper.cli", *args, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env={**clean, **(env or {})})
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
    code, out, err = await cli("list", "identities", "-c", cfg, "--format", "jsonpath=identities.#.traits.email")
    assert code == 0, err
    assert sorted(json.loads(out)) == [f"jl{n}@import.test" for n in range(4)]


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
    code, out, err = await cli("import", "identities", "-e", gk.admin,
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
    code, out, _ = await cli("identities", "list", "--admin-url", gk.admin, "--page-size", "2", "--format", "json")
    page = json.loads(out)
    code, out, _ = await cli("identities", "list", "--admin-url", gk.admin, "--page-token", page["next_page_token"],
                             "--format", "json")
    rest = json.loads(out)
    assert rest["next_page_token"] == ""
    emails = [i["traits"]["email"] for i in page["identities"] + rest["identities"]]
    assert sorted(emails) == ["arr0@import.test", "arr1@import.test", "arr2@import.test"]
    first = page["identities"][0]["id"]
    code, out, _ = await cli("identities", "get", first, "--admin-url", gk.admin, "--format", "json")
    assert code == 0 and json.loads(out)["id"] == first
    code, out, _ = await cli("identities", "delete", first, "--admin-url", gk.admin, "-q")
    assert code == 0 and out == f"{first}\n"
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"{gk.admin}/admin/identities/{first}")).status_code == 404
    code, out, err = await cli("identities", "get", first, "--admin-url", gk.admin)
    assert code == 1 and out == "" and f"{first}: The requested resource could not be found" in err


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


async def created(gk: Instance, *emails: str) -> list[str]:
    """Identities created through the admin API with Kratos' SDK; their ids in order."""
    api = k.IdentityApi(k.ApiClient(k.Configuration(host=gk.admin)))
    ids = []
    for email in emails:
        body = k.CreateIdentityBody(schema_id="default", traits={"email": email})
        ids.append((await asyncio.to_thread(api.create_identity, create_identity_body=body)).id)
    return ids


def cells(line: str) -> list[str]:
    return [cell for cell in line.split("\t") if cell]


async def test_kratos_list_identities_prints_its_table_a_page_at_a_time(gk: Instance) -> None:
    """`list identities` (and `ls`) as Kratos: one page with Kratos' columns, then the next page's token."""
    ids = await created(gk, "t1@kratos.test", "t2@kratos.test", "t3@kratos.test")
    code, out, err = await cli("list", "identities", "-e", gk.admin, "--page-size", "2")
    assert code == 0, err
    lines = out.splitlines()
    assert cells(lines[0]) == ["ID", "VERIFIED ADDRESSES", "RECOVERY ADDRESSES", "SCHEMA ID", "SCHEMA URL"]
    first_page = [cells(line) for line in lines[1:3]]
    for row in first_page:
        assert row[0] in ids and row[1] == row[2] and row[1].endswith("@kratos.test") and row[3] == "default"
        assert row[4].startswith(gk.public) and row[4].endswith("/schemas/ZGVmYXVsdA")
    assert lines[3].strip() == "" and cells(lines[4])[0] == "NEXT PAGE TOKEN"
    token = cells(lines[4])[1]
    code, out, _ = await cli("ls", "identities", "--page-size", "2", "--page-token", token, "--format", "json",
                             env={"KRATOS_ADMIN_URL": gk.admin})
    rest = json.loads(out)
    assert rest["next_page_token"] == ""
    assert sorted([row[0] for row in first_page] + [i["id"] for i in rest["identities"]]) == sorted(ids)
    code, out, _ = await cli("list", "identities", "-e", gk.admin, "--quiet")
    assert code == 0 and sorted(out.split()) == sorted(ids)


async def test_kratos_get_identity_prints_a_row_or_a_table_and_exits_1_for_an_unknown_id(gk: Instance) -> None:
    one, two = await created(gk, "g1@kratos.test", "g2@kratos.test")
    code, out, err = await cli("get", "identity", one, "-e", gk.admin)
    assert code == 0, err
    assert [cells(line) for line in out.splitlines()][:3] == [
        ["ID", one], ["VERIFIED ADDRESSES", "g1@kratos.test"], ["RECOVERY ADDRESSES", "g1@kratos.test"]]
    code, out, _ = await cli("get", "-e", gk.admin, "identity", one, two, "--format", "json")
    assert code == 0 and [i["id"] for i in json.loads(out)] == [one, two]
    code, out, _ = await cli("get", "identity", one, "-e", gk.admin, "--format", "jsonpath=traits.email")
    assert code == 0 and json.loads(out) == "g1@kratos.test"
    code, out, _ = await cli("get", "identity", one, "-e", gk.admin, "--format", "yaml")
    assert code == 0 and yaml.safe_load(out)["traits"] == {"email": "g1@kratos.test"}
    missing = "00000000-0000-4000-8000-000000000000"
    code, out, err = await cli("get", "identity", one, missing, "-e", gk.admin, "--format", "jsonpointer=/id")
    assert code == 1 and json.loads(out) == one
    assert f"{missing}: The requested resource could not be found" in err
    code, _, err = await cli("get", "identity", one, "-e", gk.admin, "--include-credentials", "password")
    assert code == 1 and "valid value of credentials type" in err
    code, _, err = await cli("get", "identity", one, "-e", gk.admin, "--format", "xml")
    assert code == 2 and "unknown format 'xml'" in err


async def test_kratos_delete_identity_prints_the_ids_and_fails_for_the_missing_ones(gk: Instance) -> None:
    one, two, three = await created(gk, "d1@kratos.test", "d2@kratos.test", "d3@kratos.test")
    code, out, err = await cli("delete", "identity", one, "-e", gk.admin)
    assert code == 0, err
    assert cells(out) == ["ID", f"{one}\n"] or [cells(line) for line in out.splitlines()] == [["ID", one]]
    code, out, err = await cli("delete", "identity", two, one, three, "-e", gk.admin, "--format", "json")
    assert code == 1 and json.loads(out) == [two, three] and f"{one}: The requested resource could not be found" in err
    async with httpx.AsyncClient(base_url=gk.admin) as client:
        assert (await client.get("/admin/identities", params={"page_size": "10"})).json() == []


async def test_identity_commands_without_a_reachable_admin_api_exit_1_with_the_reason(tmp_path: Path) -> None:
    code, out, err = await cli("list", "identities", "-e", "http://127.0.0.1:9")
    assert code == 1 and out == "" and "cannot reach the admin API at http://127.0.0.1:9" in err


async def test_oathkeeper_rules_get_and_list_ask_the_api_listener(start: Any, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("".join(
        f"- id: rule-{n}\n  match: {{url: 'http://app.test/{n}/<.*>', methods: [GET]}}\n"
        "  authenticators: [{handler: anonymous}]\n  authorizer: {handler: allow}\n  mutators: [{handler: noop}]\n"
        for n in range(3)))
    async with start({"access_rules": {"repositories": [f"file://{rules}"]},
                      "authenticators": {"anonymous": {"enabled": True}}, "authorizers": {"allow": {"enabled": True}},
                      "mutators": {"noop": {"enabled": True}}}) as gk:
        code, out, err = await cli("rules", "--endpoint", gk.api, "get", "rule-1")
        assert code == 0, err
        assert out.startswith('{\n\t"id": "rule-1"') and json.loads(out)["match"]["methods"] == ["GET"]
        code, out, _ = await cli("rules", "list", "-e", gk.api, "--limit", "2", "--page", "2")
        assert code == 0 and [r["id"] for r in json.loads(out)] == ["rule-2"]
        code, _, err = await cli("rules", "-e", gk.api, "get", "nope")
        assert code == 1 and err.startswith("Could not get rule: 404 Not Found")
    code, _, err = await cli("rules", "list")
    assert code == 1 and "--endpoint" in err
