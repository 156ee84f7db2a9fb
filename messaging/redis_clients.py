"""Connections to the Redis that ``REDIS_URL`` names, for the state workers share outside
the channel layer (access stamps, send limits).

An asyncio connection belongs to one event loop, so there is one client per loop. Their
pools wait for a free connection instead of failing when many sockets ask at once.
"""

from __future__ import annotations

import asyncio
import threading
import weakref

from django.conf import settings

MAX_CONNECTIONS = 32
WAIT_SECONDS = 20

_async_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_sync_client = None
_sync_lock = threading.Lock()


def configured() -> bool:
    return bool(getattr(settings, "REDIS_URL", ""))


def async_client():
    """The client of the running event loop."""
    import redis.asyncio

    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        pool = redis.asyncio.BlockingConnectionPool.from_url(
            settings.REDIS_URL, max_connections=MAX_CONNECTIONS, timeout=WAIT_SECONDS
        )
        client = _async_clients[loop] = redis.asyncio.Redis(connection_pool=pool)
    return client


def sync_client():
    """A client for synchronous code (any thread)."""
    import redis

    global _sync_client
    if _sync_client is None:
        with _sync_lock:
            if _sync_client is None:
                pool = redis.BlockingConnectionPool.from_url(
                    settings.REDIS_URL, max_connections=MAX_CONNECTIONS, timeout=WAIT_SECONDS
                )
                _sync_client = redis.Redis(connection_pool=pool)
    return _sync_client
