from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.access.support import echo_app
from tests.support.servers import serving


@pytest.fixture
async def upstream() -> AsyncIterator[str]:
    async with serving(echo_app) as url:
        yield url
