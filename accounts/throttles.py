"""Fixed-window counters for requests that must not be repeated without end (password reset
mails). They live in the cache, so with ``REDIS_URL`` set every worker counts together; a
window always ends, so nothing stays refused for longer than its window."""

from __future__ import annotations

import hashlib
import logging
import time

from django.core.cache import cache

log = logging.getLogger(__name__)


def cache_key(scope: str, value: str, window: int) -> str:
    """The counter's key for ``value`` in the current window. Values are hashed, so that
    e-mail addresses and client addresses are not kept in the cache in the clear."""
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()[:32]
    return f"throttle:{scope}:{digest}:{int(time.time() // window)}"


def allow(*, scope: str, value: str, limit: int, window: int) -> bool:
    """Count one request for ``value`` under ``scope``; False once more than ``limit``
    arrived in the current window of ``window`` seconds. A limit below 1 turns the
    throttle off."""
    if limit < 1:
        return True
    try:
        count = window_count(cache_key(scope, value, window), window)
    except Exception as problem:
        # An unreachable cache must not take password resets down with it.
        log.warning("throttle %s not counted: %s", scope, problem)
        return True
    return count <= limit


def window_count(key: str, window: int) -> int:
    """Count one more under ``key`` in the cache, for the fixed window of ``window`` seconds
    that ``key`` names; returns the count so far in that window."""
    if cache.add(key, 1, timeout=window + 1):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window + 1)
        return 1


class FailureCounter:
    """Counts failures of one kind for one value (a person's wrong passwords, wrong codes)
    in fixed windows; once ``limit`` failures are in the current window, ``refused`` says so
    until the window ends. A limit below 1 turns it off."""

    def __init__(self, scope: str, *, limit: int, window: int) -> None:
        self.scope, self.limit, self.window = scope, limit, window

    def refused(self, value: str) -> bool:
        if self.limit < 1:
            return False
        try:
            return (cache.get(cache_key(self.scope, value, self.window)) or 0) >= self.limit
        except Exception as problem:
            log.warning("throttle %s not read: %s", self.scope, problem)
            return False

    def failed(self, value: str) -> None:
        if self.limit < 1:
            return
        try:
            window_count(cache_key(self.scope, value, self.window), self.window)
        except Exception as problem:
            log.warning("throttle %s not counted: %s", self.scope, problem)

    def clear(self, value: str) -> None:
        try:
            cache.delete(cache_key(self.scope, value, self.window))
        except Exception as problem:
            log.warning("throttle %s not cleared: %s", self.scope, problem)
