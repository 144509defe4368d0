import httpx

from tests.support.servers import Instance


async def test_every_listener_is_alive_and_ready(gatekeeper: Instance) -> None:
    async with httpx.AsyncClient() as client:
        for url in gatekeeper.urls.values():
            assert (await client.get(f"{url}/health/alive")).json() == {"status": "ok"}
            assert (await client.get(f"{url}/health/ready")).json() == {"status": "ok"}
