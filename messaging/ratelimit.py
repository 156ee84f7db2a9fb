"""Per-user limits on what a socket asks of the server (``ATRIUM_RATE_LIMITS``: sends and
edits count as "message", subscriptions as "subscribe"), shared by every tab and every
worker through Redis when ``REDIS_URL`` is set (so all workers count together), else through
the process's cache. An action with no configured limit is not limited."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache

from messaging import redis_clients

log = logging.getLogger(__name__)


def _bucket(user_id: int, action: str) -> tuple[str, int, int] | None:
    configured = settings.ATRIUM_RATE_LIMITS.get(action)
    if configured is None:
        return None
    limit, window = configured
    bucket = int(time.time() // window)
    return f"rate:{action}:{user_id}:{bucket}", limit, window


def allow(*, user_id: int, action: str) -> bool:
    """Count one ``action`` for the user in the current window; False once over the limit."""
    bucket = _bucket(user_id, action)
    if bucket is None:
        return True
    key, limit, window = bucket
    if cache.add(key, 1, timeout=window + 1):
        return True
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window + 1)
        return True
    return count <= limit


async def aallow(*, user_id: int, action: str) -> bool:
    """``allow`` from async code: one Redis round trip, nothing on a database thread."""
    if not redis_clients.configured():
        return allow(user_id=user_id, action=action)  # the local cache: no I/O
    bucket = _bucket(user_id, action)
    if bucket is None:
        return True
    key, limit, window = bucket
    try:
        async with redis_clients.async_client().pipeline(transaction=False) as pipe:
            pipe.incr(f"atrium:{key}")
            pipe.expire(f"atrium:{key}", window + 1, nx=True)
            count, _ = await pipe.execute()
    except Exception as problem:
        # A limit that cannot be counted does not refuse people (nor close their socket).
        log.warning("%s limit of %s not counted: %s", action, user_id, problem)
        return True
    return count <= limit
