"""Who is online: one entry per open socket, shared by every worker.

A person is ``online`` while any of their sockets is active, ``away`` while all of them are
away (the tab is hidden), ``offline`` with none. Entries carry an expiry that each worker
renews for its sockets, so the sockets of a worker that died fade out by themselves. With
``REDIS_URL`` the entries live in Redis (one hash per user); without it, in this process.
"""

from __future__ import annotations

import time
from typing import Protocol

from django.conf import settings

ONLINE, AWAY, OFFLINE = "online", "away", "offline"
STATUSES = (ONLINE, AWAY)
TTL_SECONDS = 90
RENEW_SECONDS = 30


def aggregate(statuses: list[str]) -> str:
    if ONLINE in statuses:
        return ONLINE
    return AWAY if statuses else OFFLINE


class Store(Protocol):
    async def put(self, user_id: int, socket_id: str, status: str) -> None: ...
    async def drop(self, user_id: int, socket_id: str) -> None: ...
    async def statuses(self, user_ids: list[int]) -> dict[int, str]: ...


class MemoryStore:
    def __init__(self) -> None:
        self.entries: dict[int, dict[str, tuple[str, float]]] = {}

    async def put(self, user_id: int, socket_id: str, status: str) -> None:
        self.entries.setdefault(user_id, {})[socket_id] = (status, time.time() + TTL_SECONDS)

    async def drop(self, user_id: int, socket_id: str) -> None:
        self.entries.get(user_id, {}).pop(socket_id, None)

    async def statuses(self, user_ids: list[int]) -> dict[int, str]:
        now = time.time()
        return {
            uid: aggregate([s for s, expiry in self.entries.get(uid, {}).values() if expiry > now])
            for uid in user_ids
        }


class RedisStore:
    def __init__(self, url: str) -> None:
        import redis.asyncio

        self.redis = redis.asyncio.Redis.from_url(url)

    @staticmethod
    def _key(user_id: int) -> str:
        return f"atrium:presence:{user_id}"

    async def put(self, user_id: int, socket_id: str, status: str) -> None:
        key = self._key(user_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hset(key, socket_id, f"{status}|{time.time() + TTL_SECONDS:.0f}")
            pipe.expire(key, TTL_SECONDS)
            await pipe.execute()

    async def drop(self, user_id: int, socket_id: str) -> None:
        await self.redis.hdel(self._key(user_id), socket_id)

    async def statuses(self, user_ids: list[int]) -> dict[int, str]:
        if not user_ids:
            return {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for uid in user_ids:
                pipe.hvals(self._key(uid))
            rows = await pipe.execute()
        now = time.time()
        result = {}
        for uid, values in zip(user_ids, rows, strict=True):
            live = []
            for raw in values:
                status, _, expiry = raw.decode().partition("|")
                if float(expiry or 0) > now:
                    live.append(status)
            result[uid] = aggregate(live)
        return result


_stores: dict[object, Store] = {}


def store() -> Store:
    """The store for the running event loop (a Redis connection belongs to one loop)."""
    import asyncio

    loop = asyncio.get_running_loop()
    current = _stores.get(loop)
    if current is None:
        url = getattr(settings, "REDIS_URL", "")
        current = _stores[loop] = RedisStore(url) if url else _memory
    return current


_memory = MemoryStore()
