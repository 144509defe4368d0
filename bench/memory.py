"""P7: the resident memory of one gatekeeper process holding many cached sessions (`python -m bench.memory
[--sessions 100000]`).

A real `gatekeeper serve` on SQLite: identities are imported through the admin API (1,000 of them, the sessions
spread over them), the sessions written straight into the store (issuing 100,000 through logins would hash
100,000 passwords), then wrk asks whoami once for every token so each lands in the session cache. RSS is read
from /proc before and after, with the cache size the process reports (gatekeeper_session_cache_lookups_total).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import yaml

from bench.common import WRK, free_port, process
from gatekeeper.config.dsn import Dsn
from gatekeeper.identity.sessions import new_token, token_hash
from gatekeeper.store import open_store
from gatekeeper.store.sessions import SessionRecord

IDENTITIES = 1000
# whoami for each token in turn, from the one given as the script's argument
WALK = """
local tokens, n = {}, 0
for line in io.lines("%s") do tokens[#tokens + 1] = line end
init = function(args) n = tonumber(args[1]) end
request = function()
  n = n + 1
  return wrk.format("GET", "/sessions/whoami", {["X-Session-Token"] = tokens[(n - 1) %% #tokens + 1]})
end
"""


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def config(work: Path, ports: dict[str, int]) -> Path:
    path = work / "gatekeeper.yaml"
    path.write_text(yaml.safe_dump({
        "dsn": f"sqlite://{work}/memory.db?_fk=true", "log": {"level": "error"},
        "secrets": {"cookie": ["bench-cookie-secret-0123456789"]},
        "serve": {name: {"host": "127.0.0.1", "port": port} for name, port in ports.items()},
        "session": {"cache_ttl": "1h"},
    }))
    return path


async def fill(work: Path, admin: str, sessions: int) -> list[str]:
    """Import the identities through the admin API, then write `sessions` sessions over them into the store."""
    async with httpx.AsyncClient(base_url=admin, timeout=120) as client:
        batch = [{"schema_id": "default", "traits": {"email": f"user{i}-{uuid.uuid4().hex[:6]}@example.com"}}
                 for i in range(IDENTITIES)]
        response = await client.patch("/admin/identities", json={"identities": [
            {"create": item} for item in batch]})
        response.raise_for_status()
        ids = [item["identity"] for item in response.json()["identities"]]
    store = await open_store(Dsn.parse(f"sqlite://{work}/memory.db?_fk=true"))
    now = datetime.now(UTC)
    tokens = []
    try:
        for start in range(0, sessions, 5000):
            records = []
            for i in range(start, min(start + 5000, sessions)):
                token = new_token("ory_st_")
                tokens.append(token)
                records.append(SessionRecord(
                    id=str(uuid.uuid4()), identity_id=ids[i % len(ids)], token_hash=token_hash(token),
                    logout_token_hash=token_hash(new_token("ory_lo_")), active=True, aal="aal1", issued_at=now,
                    authenticated_at=now,
                    expires_at=now + timedelta(days=1), updated_at=now,
                    authentication_methods=[{"method": "password", "aal": "aal1", "completed_at": now.isoformat()}],
                    devices=[{"id": str(uuid.uuid4()), "ip_address": "127.0.0.1", "user_agent": "bench",
                              "location": ""}]))
            async with store.db.transaction() as tx:
                await tx.execute_many(
                    """INSERT INTO sessions (id, identity_id, token_hash, logout_token_hash, active, aal,
                       authentication_methods, devices, issued_at, authenticated_at, expires_at, updated_at)
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)""",
                    [(r.id, r.identity_id, r.token_hash, r.logout_token_hash, True, "aal1",
                      json.dumps(r.authentication_methods), json.dumps(r.devices), r.issued_at, r.authenticated_at,
                      r.expires_at, r.updated_at)
                     for r in records])
    finally:
        await store.close()
    return tokens


def main(sessions: int) -> dict[str, float]:
    if WRK is None:
        raise SystemExit("wrk is needed (make system-deps)")
    work = Path(tempfile.mkdtemp(prefix="gk-memory-"))
    ports = {name: free_port() for name in ("proxy", "public", "admin", "api", "metrics")}
    cmd = [sys.executable, "-m", "gatekeeper.cli", "serve", "--config", str(config(work, ports)), "--migrate"]
    with process(cmd, ports=[ports["public"], ports["admin"]], log=work / "gatekeeper.log") as proc:
        tokens = asyncio.run(fill(work, f"http://127.0.0.1:{ports['admin']}", sessions))
        (work / "tokens.txt").write_text("\n".join(tokens))
        (work / "walk.lua").write_text(WALK % (work / "tokens.txt"))
        before = rss_mib(proc.pid)
        url = f"http://127.0.0.1:{ports['public']}"
        misses = 0
        while misses < sessions:  # until every session was looked up once (each first lookup is a miss)
            subprocess.run([WRK, "-t1", "-c50", "-d10s", "-s", str(work / "walk.lua"), url, "--", str(misses)],  # noqa: S603
                           check=True, capture_output=True)
            metrics = httpx.get(f"http://127.0.0.1:{ports['metrics']}/metrics").text
            misses = int(next(float(line.split()[-1]) for line in metrics.splitlines()
                              if line.startswith('gatekeeper_session_cache_lookups_total{result="miss"}')))
        after = rss_mib(proc.pid)
    print(f"{sessions} sessions over {IDENTITIES} identities")
    print(f"RSS before the lookups {before:8.1f} MiB")
    print(f"RSS with them cached   {after:8.1f} MiB   (target <= 150 MB)")
    print(f"per cached session     {(after - before) * 1024 * 1024 / sessions:8.0f} bytes")
    return {"rss_before_mib": round(before, 1), "rss_cached_mib": round(after, 1), "sessions": sessions}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=100_000)
    print(json.dumps(main(parser.parse_args().sessions)))
