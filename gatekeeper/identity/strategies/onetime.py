"""One-time secrets bound to a flow: what the `code` and `link` methods of every flow share.

A challenge lives in the flow's server-side `internal` (never sent to clients): the HMAC of the secret (keyed by
the first cookie secret and bound to the flow kind and id), when it expires, whether it was used, and whatever
the method needs to finish (address, identity id, traits). Submissions are counted in the store (`Store.hit`,
shared by replicas): past `max_submissions` the challenge is void and a new secret must be requested.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from gatekeeper.config.types import Duration
from gatekeeper.identity.flows.base import Flow
from gatekeeper.identity.strategies.common import MAX_FIELD

if TYPE_CHECKING:
    from gatekeeper.identity.client import ClientInfo
    from gatekeeper.identity.context import IdentityContext

_KEY = "challenge"
SENDS_PER_ADDRESS = 10  # an hour
SENDS_PER_CLIENT = 200  # an hour


class Challenge(dict[str, Any]):
    """A passed challenge: the fields it was issued with (`address`, `identity_id`, ...)."""


def new_code() -> str:
    """Six random digits, as Kratos' codes."""
    return f"{secrets.randbelow(1_000_000):06d}"


class OneTimeCodes:
    """Issue and check the secrets of one method in flows of one kind (`recovery`, `login`, ...)."""

    def __init__(self, ctx: IdentityContext, kind: str, method: str, config: Any) -> None:
        """`config`: the method's raw `config` block (`lifespan`, `max_submissions`)."""
        self.ctx, self.kind, self.method = ctx, kind, method
        self.lifespan = float(Duration.parse(config.get("lifespan", "1h")))
        self.max_submissions = int(config.get("max_submissions", 5))
        cookie_secrets = ctx.config.cookie_secrets
        self._key = (cookie_secrets[0].value if cookie_secrets else "gatekeeper").encode()

    @property
    def expires_in_minutes(self) -> int:
        return int(self.lifespan // 60)

    def digest(self, flow: Flow, secret: str) -> str:
        return hmac.new(self._key, f"{self.kind}:{flow.id}:{secret}".encode(), hashlib.sha256).hexdigest()

    def attempts_key(self, flow: Flow) -> str:
        return f"{self.kind}:{self.method}:{flow.id}"

    async def throttle_send(self, address: str, client: ClientInfo | None) -> None:
        """Sending is limited per address (10 an hour) and per client address (200 an hour: no mail bombing;
        `client` None: a signed-in identity's own address, counted per address only)."""
        await self.ctx.throttle(f"{self.kind}:send:{hashlib.sha256(address.encode()).hexdigest()[:40]}",
                                SENDS_PER_ADDRESS, 3600.0)
        if client is not None:
            await self.ctx.throttle(f"{self.kind}:send:ip:{client.ip}", SENDS_PER_CLIENT, 3600.0)

    async def clear(self, flow: Flow) -> None:
        """Void the flow's challenge and its attempt counter (a new secret is about to be sent, or none)."""
        flow.internal.pop(_KEY, None)
        await self.ctx.store.reset(self.attempts_key(flow))

    def issue(self, flow: Flow, secret: str, **fields: Any) -> None:
        """Make `secret` the flow's challenge, carrying `fields` until it is used."""
        expires = datetime.now(UTC) + timedelta(seconds=self.lifespan)
        flow.internal[_KEY] = {**fields, "digest": self.digest(flow, secret), "expires_at": expires.timestamp(),
                               "used": False}

    async def use(self, flow: Flow, secret: str) -> Challenge | None:
        """The challenge `secret` answers, marked used; None when wrong, expired, used or tried too often."""
        challenge = flow.internal.get(_KEY)
        if not isinstance(challenge, dict):
            return None
        hits, _ = await self.ctx.store.hit(self.attempts_key(flow), self.lifespan)
        if hits > self.max_submissions:
            flow.internal.pop(_KEY, None)  # brute force: the secret is void, ask for a new one
            return None
        if challenge.get("used") or challenge.get("expires_at", 0) <= datetime.now(UTC).timestamp():
            return None
        if not hmac.compare_digest(challenge["digest"], self.digest(flow, secret[:MAX_FIELD])):
            return None
        # single use even when two requests (on two replicas) race with the right secret: one claim wins
        claims, _ = await self.ctx.store.hit(f"{self.attempts_key(flow)}:used:{challenge['digest'][:16]}",
                                             self.lifespan)
        if claims > 1:
            return None
        challenge["used"] = True
        return Challenge(challenge)
