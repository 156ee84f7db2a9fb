"""Per-user limits on what a socket asks of the server (``ATRIUM_RATE_LIMITS``: sends and
edits count as "message", subscriptions as "subscribe"), shared by every tab and every
worker through Redis when ``REDIS_URL`` is set (so all workers count together), else through
the process's cache. An action with no configured limit is not limited.

While Redis cannot be reached, each worker counts on its own, in memory, with the same
limits (a user on two workers may then do up to twice as much): a limit is never lifted
because it cannot be counted. One line is logged when counting falls back, one when Redis
counts again."""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings

from accounts.throttles import window_count
from messaging import redis_clients

log = logging.getLogger(__name__)

# The fallback counts: key -> (count, expiry on the monotonic clock).
_local_counts: dict[str, tuple[int, float]] = {}
_local_lock = threading.Lock()
_falling_back = False


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
    return window_count(key, window) <= limit


def _local_allow(key: str, limit: int, window: int) -> bool:
    """Count in this process (Redis unreachable)."""
    now = time.monotonic()
    with _local_lock:
        if len(_local_counts) > 10_000:
            for stale in [k for k, (_, ends) in _local_counts.items() if ends <= now]:
                del _local_counts[stale]
        count, ends = _local_counts.get(key, (0, 0.0))
        if ends <= now:
            count, ends = 0, now + window + 1
        count += 1
        _local_counts[key] = (count, ends)
    return count <= limit


async def aallow(*, user_id: int, action: str) -> bool:
    """``allow`` from async code: one Redis round trip, nothing on a database thread; counted
    in this process while Redis cannot be reached."""
    global _falling_back
    if not redis_clients.configured():
        return allow(user_id=user_id, action=action)  # the local cache: no I/O
    bucket = _bucket(user_id, action)
    if bucket is None:
        return True
    key, limit, window = bucket
    try:
        async with redis_clients.limit_client().pipeline(transaction=False) as pipe:
            pipe.incr(f"atrium:{key}")
            pipe.expire(f"atrium:{key}", window + 1, nx=True)
            count, _ = await pipe.execute()
    except Exception as problem:
        if not _falling_back:
            _falling_back = True
            log.warning("rate limits counted by this worker alone: Redis failed (%s)", problem)
        return _local_allow(key, limit, window)
    if _falling_back:
        _falling_back = False
        log.info("rate limits counted in Redis again")
    return count <= limit
