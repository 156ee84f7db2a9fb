"""Per-user send limits, shared by every tab and every worker through the cache (Redis in
production, so all workers count together)."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache


def allow(*, user_id: int, action: str) -> bool:
    """Count one ``action`` for the user in the current window; False once over the limit."""
    limit, window = settings.ATRIUM_RATE_LIMITS[action]
    bucket = int(time.time() // window)
    key = f"rate:{action}:{user_id}:{bucket}"
    if cache.add(key, 1, timeout=window + 1):
        return True
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window + 1)
        return True
    return count <= limit
