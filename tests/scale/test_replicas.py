"""Three `gatekeeper serve` processes on one PostgreSQL database: nothing is sticky, revocation reaches every
replica within the bound, the courier sends once, and store outages or a killed replica lose nothing."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.scale.cluster import PASSWORD, Cluster, cluster, eventually, ready
from tests.support.process import ServeProcess

pytestmark = pytest.mark.postgres

BOUND = 1.0  # the product promise: a revoked session is refused everywhere within this


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with cluster(tmp_path_factory.mktemp("cluster")) as running:
        yield running


def csrf(flow: dict) -> str:
    return next(n["attributes"]["value"] for n in flow["ui"]["nodes"] if n["attributes"].get("name") == "csrf_token")


def on(replica: ServeProcess, url: str, listener: str = "public") -> str:
    """The same path on another replica (the flows name the load balancer's URL)."""
    parts = urlsplit(url)
    return replica.urls[listener] + parts.path + (f"?{parts.query}" if parts.query else "")


def start_browser_registration(c: httpx.Client, replica: ServeProcess) -> dict:
    resp = c.get(f"{replica.urls['public']}/self-service/registration/browser")
    assert resp.status_code == 303
    flow_id = parse_qs(urlsplit(resp.headers["location"]).query)["flow"][0]
    return c.get(f"{replica.urls['public']}/self-service/registration/flows", params={"id": flow_id}).json()


def register_api(replica: ServeProcess, email: str) -> str:
    """Register by the API flow on `replica`; returns the session token."""
    with httpx.Client(base_url=replica.urls["public"], timeout=10) as c:
        flow = c.get("/self-service/registration/api").json()
        done = c.post(f"/self-service/registration?flow={flow['id']}", json={
            "method": "password", "password": PASSWORD, "traits": {"email": email}})
        assert done.status_code == 200, done.text
        return done.json()["session_token"]


def login_api(replica: ServeProcess, email: str, password: str = PASSWORD) -> httpx.Response:
    with httpx.Client(base_url=replica.urls["public"], timeout=10) as c:
        flow = c.get("/self-service/login/api").json()
        return c.post(f"/self-service/login?flow={flow['id']}", json={
            "method": "password", "identifier": email, "password": password})


def through_proxy(replica: ServeProcess, token: str, path: str = "/app/page") -> int:
    return httpx.get(replica.urls["proxy"] + path, cookies={"ory_kratos_session": token}, timeout=10).status_code


def decision(replica: ServeProcess, token: str) -> int:
    return httpx.get(replica.urls["api"] + "/decisions/app/page", cookies={"ory_kratos_session": token},
                     timeout=10).status_code


def test_a_browser_flow_started_on_a_completes_on_b_and_the_session_works_on_c(three: Cluster) -> None:
    a, b, c = three.replicas
    with httpx.Client(timeout=10) as browser:  # one cookie jar, like a browser behind a round-robin balancer
        flow = start_browser_registration(browser, a)
        form = {"csrf_token": csrf(flow), "traits.email": "cross@example.com", "traits.name.first": "Ada",
                "method": "profile"}
        step = browser.post(on(b, flow["ui"]["action"]), data=form)
        assert step.status_code == 303, step.text
        done = browser.post(on(c, flow["ui"]["action"]), data={**form, "method": "password", "password": PASSWORD})
        assert done.status_code == 303 and done.headers["location"] == "http://app.test/"
        me = browser.get(f"{a.urls['public']}/sessions/whoami")
        assert me.status_code == 200 and me.json()["identity"]["traits"]["email"] == "cross@example.com"
        app = browser.get(f"{b.urls['proxy']}/app/welcome")
        assert app.status_code == 200 and app.text == "upstream"
    assert three.upstream.hits[-1] == ("/app/welcome", me.json()["identity"]["id"])


def test_failed_logins_count_on_every_replica(three: Cluster) -> None:
    a, b, c = three.replicas
    register_api(a, "throttled@example.com")
    # per_identifier is 3: two wrong attempts on A and one on B use them up...
    for replica in (a, a, b):
        assert login_api(replica, "throttled@example.com", "wrong-password-123456").status_code == 400
    refused = login_api(c, "throttled@example.com")  # ...so C refuses even the right password
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0


def test_a_session_revoked_on_a_is_refused_by_b_and_c_within_the_bound(three: Cluster) -> None:
    a, b, c = three.replicas
    token = register_api(a, "revoked@example.com")
    for replica in (b, c):  # warm every cache (60 s TTL: only the broadcast can explain a refusal)
        assert through_proxy(replica, token) == 200 and decision(replica, token) == 200
    revoked = httpx.request("DELETE", f"{a.urls['public']}/self-service/logout/api", json={"session_token": token})
    assert revoked.status_code == 204
    at = time.monotonic()
    for replica in (b, c):
        eventually(lambda r=replica: through_proxy(r, token) == 401 and decision(r, token) == 401, timeout=10)
    took = time.monotonic() - at
    assert took < BOUND * 2, f"refused everywhere only after {took:.2f}s"  # margin for a loaded CI machine
    assert through_proxy(a, token) == 401


def enqueue(three: Cluster, prefix: str, count: int) -> None:
    """Queue `count` e-mails to <prefix><i>@example.com straight into the outbox (as a flow would)."""
    import asyncio

    from gatekeeper.config import parse_config
    from gatekeeper.config.dsn import Dsn
    from gatekeeper.identity.courier import Courier
    from gatekeeper.store import open_store
    from tests.support.process import SECRET

    async def run() -> None:
        store = await open_store(Dsn.parse(three.dsn))
        try:
            config = parse_config(f"dsn: {three.dsn}\nsecrets: {{cookie: [{SECRET}]}}\n", name="t.yaml", env={})
            courier = Courier(config, store)
            for i in range(count):
                await courier.enqueue_email(f"{prefix}{i}@example.com", "login_code_valid", {"login_code": f"{i:06d}"})
        finally:
            await store.close()

    asyncio.run(run())


def delivered(three: Cluster, prefix: str) -> Counter[str]:
    return Counter(r for m in three.mailbox.received for r in m.rcpt_tos if r.startswith(prefix))


def test_courier_messages_are_sent_exactly_once_by_three_workers(three: Cluster) -> None:
    enqueue(three, "once", 30)
    eventually(lambda: len(delivered(three, "once")) >= 30, timeout=30)
    time.sleep(1.0)  # a duplicate would arrive within a few worker polls
    sent = delivered(three, "once")
    assert len(sent) == 30 and set(sent.values()) == {1}


def test_courier_messages_queued_before_an_outage_are_all_sent_after_it(three: Cluster) -> None:
    assert three.db_proxy is not None
    enqueue(three, "outage", 20)  # acknowledged (in the outbox) before the database goes away
    three.db_proxy.cut()
    try:
        eventually(lambda: httpx.get(f"{three.replicas[0].urls['public']}/health/ready", timeout=10).status_code
                   == 503, timeout=15)
        time.sleep(0.5)
    finally:
        three.db_proxy.restore()
    # claims cut short by the outage expire (lease 4 s) and are retried: every message arrives
    eventually(lambda: len(delivered(three, "outage")) == 20, timeout=30, interval=0.1)


class Load:
    """Proxied requests with one session, round-robin over the replicas, in a thread: (start, status) each."""

    def __init__(self, replicas: list[ServeProcess], token: str) -> None:
        self.replicas, self.token, self.seen = replicas, token, []
        self.ended: list[float] = []  # when each request of `seen` was answered
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        i = 0
        while not self.stop.is_set():
            replica = self.replicas[i % len(self.replicas)]
            i += 1
            started = time.monotonic()
            try:
                status = through_proxy(replica, self.token)
            except httpx.HTTPError:
                status = 0
            self.seen.append((started, status))
            self.ended.append(time.monotonic())

    def __enter__(self) -> Load:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(15)


def test_a_database_outage_under_load_denies_and_recovers_by_itself(three: Cluster) -> None:
    a, b, c = three.replicas
    kept = register_api(a, "before-outage@example.com")  # acknowledged before the outage
    cached = register_api(b, "cached@example.com")
    assert through_proxy(c, cached) == 200  # C has it cached
    assert three.db_proxy is not None
    with Load([a, b, c], kept) as load:
        eventually(lambda: len(load.seen) > 10, timeout=10)
        three.db_proxy.cut()
        try:
            for replica in (a, b, c):
                eventually(lambda r=replica: httpx.get(f"{r.urls['public']}/health/ready", timeout=10).status_code
                           == 503, timeout=15)
            down_since, hits = time.monotonic(), len(three.upstream.hits)
            for replica in (a, b, c):  # sessions need the store: denied, never let through
                assert through_proxy(replica, kept) in (401, 503)
                assert through_proxy(replica, cached) in (401, 503)  # the cache was dropped: cannot tell revocations
                assert decision(replica, kept) in (401, 503)
                assert httpx.get(f"{replica.urls['public']}/self-service/login/api", timeout=10).status_code == 503
            # a session cached before the outage may still pass until its replica's revocation poll fails (the
            # cache is then dropped): within the revocation bound. Requests started after that are all denied.
            eventually(lambda: len([t for t, _ in load.seen if t > down_since + BOUND]) > 10, timeout=15)
            assert len(three.upstream.hits) == hits  # nothing reached the app while the store was away
        finally:
            restored_at = time.monotonic()
            three.db_proxy.restore()
        took = max(eventually(lambda r=replica: ready(r), timeout=30, interval=0.1) for replica in (a, b, c))
        eventually(lambda: load.seen[-1][1] == 200, timeout=10)
    during = {status for (t, status), end in zip(load.seen, load.ended, strict=False)
              if t > down_since + BOUND and end < restored_at}  # a request may wait for the store to return
    assert during and during <= {401, 503}, during  # denied (503 store unavailable), never 200, never a 500
    assert took < 30
    for replica in (a, b, c):  # what was acknowledged before is all there, on every replica
        eventually(lambda r=replica: through_proxy(r, kept) == 200, timeout=10, interval=0.1)
        assert through_proxy(replica, cached) == 200
    assert login_api(c, "before-outage@example.com").status_code == 200


def test_a_replica_killed_mid_flow_loses_nothing_acknowledged(three: Cluster, tmp_path: Path) -> None:
    a = three.replicas[0]
    doomed = three.start_replica("d")
    token = register_api(doomed, "survivor@example.com")  # acknowledged by D
    with httpx.Client(timeout=10) as browser:
        flow = start_browser_registration(browser, doomed)
        form = {"csrf_token": csrf(flow), "traits.email": "midflow@example.com", "traits.name.first": "Bo",
                "method": "profile"}
        assert browser.post(on(doomed, flow["ui"]["action"]), data=form).status_code == 303  # step 1 acknowledged
        doomed.proc.kill()  # SIGKILL: no drain, no goodbye
        doomed.proc.wait(10)
        done = browser.post(on(a, flow["ui"]["action"]), data={**form, "method": "password", "password": PASSWORD})
        assert done.status_code == 303, done.text
    assert through_proxy(a, token) == 200
    assert login_api(a, "survivor@example.com").status_code == 200
