"""Send limits (``messaging.ratelimit``): while Redis cannot count, each worker counts on its
own; a limit is never lifted because Redis is down."""

from __future__ import annotations

import pytest

from messaging import ratelimit
from tests.live import free_port


@pytest.fixture
def redis_gone(settings, monkeypatch):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    settings.ATRIUM_RATE_LIMITS = {"message": (3, 60)}
    monkeypatch.setattr(ratelimit, "_local_counts", {})
    monkeypatch.setattr(ratelimit, "_falling_back", False)


async def test_the_limit_holds_while_redis_is_down(redis_gone, caplog):
    answers = [await ratelimit.aallow(user_id=1, action="message") for _ in range(5)]
    assert answers == [True, True, True, False, False]
    # Another user has a count of their own.
    assert await ratelimit.aallow(user_id=2, action="message")
    assert sum("counted by this worker alone" in r.getMessage() for r in caplog.records) == 1
