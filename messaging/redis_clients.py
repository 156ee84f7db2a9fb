"""Connections to the Redis that ``REDIS_URL`` names, for the state workers share outside
the channel layer (access stamps, send limits) and for publishing events.

An asyncio connection belongs to one event loop, so there are clients per loop. Their
pools wait for a free connection instead of failing when many sockets ask at once. Each use
has a pool of its own, so that none starves the others when one is busy: ``async_client``
(access stamps), ``limit_client`` (send limits) and ``publish_client`` (events to the other
workers). Connecting gives up after ``CONNECT_SECONDS`` and a reply is awaited at most
``REPLY_SECONDS``: a Redis that is down is noticed in seconds, not minutes.
"""

from __future__ import annotations

import asyncio
import threading
import weakref

from django.conf import settings

MAX_CONNECTIONS = 32
WAIT_SECONDS = 20
CONNECT_SECONDS = 2
REPLY_SECONDS = 10

_async_clients: dict[str, weakref.WeakKeyDictionary] = {
    "shared": weakref.WeakKeyDictionary(),
    "limits": weakref.WeakKeyDictionary(),
    "publish": weakref.WeakKeyDictionary(),
}
_sync_client = None
_sync_lock = threading.Lock()


def configured() -> bool:
    return bool(getattr(settings, "REDIS_URL", ""))


def _client_of(purpose: str):
    import redis.asyncio

    loop = asyncio.get_running_loop()
    clients = _async_clients[purpose]
    client = clients.get(loop)
    if client is None:
        pool = redis.asyncio.BlockingConnectionPool.from_url(
            settings.REDIS_URL,
            max_connections=MAX_CONNECTIONS,
            timeout=WAIT_SECONDS,
            socket_connect_timeout=CONNECT_SECONDS,
            socket_timeout=REPLY_SECONDS,
        )
        client = clients[loop] = redis.asyncio.Redis(connection_pool=pool)
    return client


def async_client():
    """The running event loop's client for access stamps."""
    return _client_of("shared")


def limit_client():
    """The running event loop's client for send limits."""
    return _client_of("limits")


def publish_client():
    """The running event loop's client for publishing events."""
    return _client_of("publish")


def sync_client():
    """A client for synchronous code (any thread)."""
    import redis

    global _sync_client
    if _sync_client is None:
        with _sync_lock:
            if _sync_client is None:
                pool = redis.BlockingConnectionPool.from_url(
                    settings.REDIS_URL,
                    max_connections=MAX_CONNECTIONS,
                    timeout=WAIT_SECONDS,
                    socket_connect_timeout=CONNECT_SECONDS,
                    socket_timeout=REPLY_SECONDS,
                )
                _sync_client = redis.Redis(connection_pool=pool)
    return _sync_client
