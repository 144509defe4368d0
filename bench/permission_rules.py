"""Permission checks through the proxy (`python -m bench.permission_rules [--seconds 10]`): requests/s of a rule
whose `remote_json` authorizer asks gatekeeper's own `/relation-tuples/check` (answered in process, no HTTP hop)
against the same rule with `allow` (= 1.0; issue 16's target: >= 0.7). Requests go round `--objects` files (wrk
Lua), each filed three folders below the one ada may view (the 3-level traversal of `bench.permissions`), with the
check cache (default `limit.check_cache_ttl: 5s`) and without it (`0s`: every request is a check, though
concurrent requests for the same file share one).

On a machine shared with other work wrk's figures move from run to run; gatekeeper's CPU time per request (from
/proc, the uncached checks every `check_cache_ttl` and SQLite's thread included) moves much less, and is printed
beside them with its ratio.

gatekeeper runs as `gatekeeper serve` on SQLite in its own process pinned to CPU 1 (logging at warning), wrk
(1 thread, 50 connections) on CPU 0, nginx answering as the upstream.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import httpx
import yaml

from bench.common import NGINX, WRK, WrkResult, cpu_seconds, free_port, nginx, process, report, wrk
from bench.permissions import MODEL, OPL
from bench.proxy import wait_ready
from gatekeeper.store.relation_tuples import TupleRow

PAYLOAD = ('{"namespace": "File", "object": "{{ printIndex .MatchContext.RegexpCaptureGroups 1 }}", '
           '"relation": "view", "subject_id": "{{ print .Subject }}"}')
ROUND = """counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "/%s/file" .. (counter %% %d))
end
"""


def config(work: Path, ports: dict[str, int], upstream: int, cache_ttl: str) -> Path:
    def bench_rule(name: str, authorizer: dict[str, object]) -> dict[str, object]:
        return {"id": name, "match": {"url": f"http://127.0.0.1:<[0-9]+>/{name}/<[a-z0-9]+>", "methods": ["GET"]},
                "upstream": {"url": f"http://127.0.0.1:{upstream}"},
                "authenticators": [{"handler": "anonymous", "config": {"subject": "ada"}}],
                "authorizer": authorizer, "mutators": [{"handler": "noop"}]}

    remote = f"http://127.0.0.1:{ports['api']}/relation-tuples/check"
    rules = work / "rules.yaml"
    rules.write_text(yaml.safe_dump([
        bench_rule("allow", {"handler": "allow"}),
        bench_rule("keto", {"handler": "remote_json", "config": {"remote": remote, "payload": PAYLOAD}})]))
    path = work / f"gatekeeper-{cache_ttl}.yaml"
    path.write_text(yaml.safe_dump({
        "dsn": f"sqlite://{work}/bench-{cache_ttl}.db?_fk=true", "log": {"level": "warning", "format": "json"},
        "secrets": {"cookie": ["bench-cookie-secret-0123456789"]},
        "serve": {name: {"host": "127.0.0.1", "port": port} for name, port in ports.items()},
        "access_rules": {"repositories": [f"file://{rules}"]},
        "authenticators": {"anonymous": {"enabled": True}},
        "authorizers": {"allow": {"enabled": True}, "remote_json": {"enabled": True}},
        "mutators": {"noop": {"enabled": True}},
        "namespaces": {"location": f"file://{OPL}"}, "limit": {"check_cache_ttl": cache_ttl, "max_read_depth": 10}}))
    return path


def seed(admin: str, objects: int) -> None:
    files = [TupleRow("File", f"file{i}", "parents", None, ("Folder", "f1", "")) for i in range(objects)]
    with httpx.Client(base_url=admin) as client:
        for row in [*MODEL, *files]:
            body: dict[str, object] = {"namespace": row.namespace, "object": row.object, "relation": row.relation}
            if row.subject_set is None:
                body["subject_id"] = row.subject_id
            else:
                body["subject_set"] = dict(zip(("namespace", "object", "relation"), row.subject_set, strict=True))
            client.put("/admin/relation-tuples", json=body).raise_for_status()


def _median(results: list[WrkResult]) -> WrkResult:
    return sorted(results, key=lambda r: r.rps)[len(results) // 2]


def main(seconds: int, objects: int, rounds: int) -> dict[str, float]:
    if NGINX is None or WRK is None:
        raise SystemExit("nginx and wrk are needed (make system-deps)")
    work = Path(tempfile.mkdtemp(prefix="gk-bench-perm-"))
    upstream = free_port()
    runs: dict[tuple[str, str], list[WrkResult]] = {}
    cpu: dict[tuple[str, str], list[float]] = {}  # gatekeeper's CPU microseconds per request
    conf = f'server {{ listen 127.0.0.1:{upstream}; location / {{ return 200 "hello from the upstream\\n"; }} }}'
    with nginx(conf, ports=[upstream], cpu=1):
        for ttl in ("5s", "0s"):
            ports = {name: free_port() for name in ("proxy", "public", "admin", "api", "metrics")}
            cmd = [sys.executable, "-m", "gatekeeper.cli", "serve", "--config",
                   str(config(work, ports, upstream, ttl)), "--migrate"]
            with process(cmd, ports=[ports["proxy"], ports["api"]], cpu=1, log=work / f"gatekeeper-{ttl}.log") as gk:
                wait_ready(f"http://127.0.0.1:{ports['api']}")
                seed(f"http://127.0.0.1:{ports['admin']}", objects)
                proxy = f"http://127.0.0.1:{ports['proxy']}"
                for name in ("allow", "keto"):
                    (work / f"{name}.lua").write_text(ROUND % (name, objects))
                    answer = httpx.get(f"{proxy}/{name}/file0")
                    if answer.status_code != 200:
                        raise SystemExit(f"/{name}/file0 answered {answer.status_code}: {answer.text}")
                wrk(proxy, seconds=2, script=work / "keto.lua")  # warm up
                names = ("allow", "keto") if ttl == "5s" else ("keto",)
                for _ in range(rounds):  # interleaved: a shared machine's load changes from minute to minute
                    for name in names:
                        before = cpu_seconds(gk.pid)
                        result = wrk(proxy, seconds=seconds, script=work / f"{name}.lua")
                        runs.setdefault((name, ttl), []).append(result)
                        cpu.setdefault((name, ttl), []).append(
                            (cpu_seconds(gk.pid) - before) / (result.rps * seconds) * 1e6)
    rows = [("allow", _median(runs[("allow", "5s")]))]
    rows += [(f"remote_json -> own check, cache {ttl}", _median(runs[("keto", ttl)])) for ttl in ("5s", "0s")]
    report(f"through the gatekeeper proxy, 50 connections, {seconds}s each, median of {rounds} interleaved runs "
           "(wrk -t1, pinned)", rows, "allow")
    cached = [k.rps / a.rps for k, a in zip(runs[("keto", "5s")], runs[("allow", "5s")], strict=True)]
    per_request = {key: statistics.median(values) for key, values in cpu.items()}
    results = {"keto_cached_ratio": statistics.median(cached), "keto_uncached_ratio": rows[2][1].rps / rows[0][1].rps,
               "keto_cached_cpu_ratio": per_request[("allow", "5s")] / per_request[("keto", "5s")]}
    print(f"target: remote_json to the own check / allow >= 0.7: cached {results['keto_cached_ratio']:.3f} "
          f"(per round: {', '.join(f'{r:.2f}' for r in cached)}), uncached {results['keto_uncached_ratio']:.3f}")
    print(f"gatekeeper CPU per request (median): allow {per_request[('allow', '5s')]:.1f} us, remote_json cache 5s "
          f"{per_request[('keto', '5s')]:.1f} us, cache 0s {per_request[('keto', '0s')]:.1f} us; allow / cached "
          f"{results['keto_cached_cpu_ratio']:.3f}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--objects", type=int, default=100, help="files the requests go round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved runs of each row (the median is shown)")
    args = parser.parse_args()
    main(args.seconds, args.objects, args.rounds)
