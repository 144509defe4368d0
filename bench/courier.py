"""Courier throughput on this machine.

    .venv/bin/python -m bench.courier sqlite:///tmp/courier-bench.db 1000 10
    .venv/bin/python -m bench.courier postgres://postgres@127.0.0.1:5432/<empty db> 1000 10

Queues N verification e-mails, then starts one worker against the aiosmtpd sink (same process, so
the sink's MIME parsing is part of the figure) and prints queue and delivery rates.
"""

from __future__ import annotations

import asyncio
import sys
import time

import yaml

from gatekeeper.config import parse_config
from gatekeeper.config.dsn import Dsn
from gatekeeper.identity.courier import Courier
from gatekeeper.store import open_store
from tests.support.smtp import SmtpSink


async def main(dsn: str, count: int, pull_count: int) -> None:
    sink = await SmtpSink().start()
    config = parse_config(yaml.safe_dump({
        "dsn": dsn, "secrets": {"cookie": ["bench-cookie-secret-0123456789"]}, "log": {"level": "error"},
        "courier": {"smtp": {"connection_uri": sink.uri(query="disable_starttls=true")},
                    "worker": {"pull_count": pull_count, "pull_wait": "50ms"}}}), name="bench", env={})
    store = await open_store(Dsn.parse(dsn))
    await store.migrate()
    courier = Courier(config, store)
    data = {"verification_code": "123456", "verification_url": "https://app.example/verify?code=123456"}
    start = time.perf_counter()
    for i in range(count):
        await courier.enqueue_email(f"user{i}@example.com", "verification_code_valid", data)
    queued = time.perf_counter()
    await courier.worker.start()
    await sink.wait_for(count, timeout=600)
    delivered = time.perf_counter()
    await courier.worker.stop()
    await store.close()
    await sink.stop()
    print(f"{store.dialect}: {count} messages, pull_count {pull_count}: queued {count / (queued - start):.0f}/s, "
          f"delivered {count / (delivered - queued):.0f}/s")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 10))
