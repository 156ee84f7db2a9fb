"""Who is online: one entry per open socket, shared by every worker.

A person is ``online`` while any of their sockets is active, ``away`` while all of them are
away (the tab is hidden), ``offline`` with none. Entries carry an expiry that each worker
renews for its sockets, so the sockets of a worker that died fade out by themselves. With
``REDIS_URL`` the entries live in Redis (one hash per user); without it, in this process.

While Redis cannot be reached, presence pauses (``Paused``): changes are not recorded nor
announced, and a snapshot shows everyone offline; sockets are neither refused nor closed
for it. The renewal that follows Redis's return (every ``RENEW_SECONDS``) puts this worker's
sockets back. One line is logged when presence pauses and one when it resumes.
"""

from __future__ import annotations

import logging
import time
from typing import Protocol

from django.conf import settings

log = logging.getLogger(__name__)

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
    async def put_many(self, entries: list[tuple[int, str, str]]) -> None: ...

    async def change(self, user_id: int, socket_id: str, status: str | None) -> tuple[str, str]:
        """Set (``status``) or drop (None) one socket's entry; returns the person's overall
        status before and after, read in the same step as the change."""
        ...


class MemoryStore:
    def __init__(self) -> None:
        self.entries: dict[int, dict[str, tuple[str, float]]] = {}

    async def put(self, user_id: int, socket_id: str, status: str) -> None:
        self.entries.setdefault(user_id, {})[socket_id] = (status, time.time() + TTL_SECONDS)

    async def drop(self, user_id: int, socket_id: str) -> None:
        self.entries.get(user_id, {}).pop(socket_id, None)

    async def put_many(self, entries: list[tuple[int, str, str]]) -> None:
        for user_id, socket_id, status in entries:
            await self.put(user_id, socket_id, status)

    async def change(self, user_id: int, socket_id: str, status: str | None) -> tuple[str, str]:
        before = (await self.statuses([user_id]))[user_id]
        if status is None:
            await self.drop(user_id, socket_id)
        else:
            await self.put(user_id, socket_id, status)
        return before, (await self.statuses([user_id]))[user_id]

    async def statuses(self, user_ids: list[int]) -> dict[int, str]:
        now = time.time()
        return {
            uid: aggregate([s for s, expiry in self.entries.get(uid, {}).values() if expiry > now])
            for uid in user_ids
        }


def _live(values: list[bytes], now: float) -> str:
    live = []
    for raw in values:
        status, _, expiry = raw.decode().partition("|")
        if float(expiry or 0) > now:
            live.append(status)
    return aggregate(live)


class RedisStore:
    # Waits for a free connection rather than failing when many sockets change at once.
    MAX_CONNECTIONS = 32

    def __init__(self, url: str) -> None:
        import redis.asyncio

        pool = redis.asyncio.BlockingConnectionPool.from_url(
            url,
            max_connections=self.MAX_CONNECTIONS,
            timeout=20,
            socket_connect_timeout=2,
            socket_timeout=10,
        )
        self.redis = redis.asyncio.Redis(connection_pool=pool)

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

    async def put_many(self, entries: list[tuple[int, str, str]]) -> None:
        """Renew many entries in one round trip (a worker's sockets, every RENEW_SECONDS)."""
        if not entries:
            return
        expiry = f"{time.time() + TTL_SECONDS:.0f}"
        async with self.redis.pipeline(transaction=False) as pipe:
            for user_id, socket_id, status in entries:
                key = self._key(user_id)
                pipe.hset(key, socket_id, f"{status}|{expiry}")
                pipe.expire(key, TTL_SECONDS)
            await pipe.execute()

    async def change(self, user_id: int, socket_id: str, status: str | None) -> tuple[str, str]:
        key = self._key(user_id)
        # One round trip, and atomic: two tabs changing at once cannot both see "no change".
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hvals(key)
            if status is None:
                pipe.hdel(key, socket_id)
            else:
                pipe.hset(key, socket_id, f"{status}|{time.time() + TTL_SECONDS:.0f}")
                pipe.expire(key, TTL_SECONDS)
            pipe.hvals(key)
            rows = await pipe.execute()
        now = time.time()
        return _live(rows[0], now), _live(rows[-1], now)

    async def statuses(self, user_ids: list[int]) -> dict[int, str]:
        if not user_ids:
            return {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for uid in user_ids:
                pipe.hvals(self._key(uid))
            rows = await pipe.execute()
        now = time.time()
        return {uid: _live(values, now) for uid, values in zip(user_ids, rows, strict=True)}


class Paused:
    """A store that answers without failing while the one it wraps (Redis) fails."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.paused = False

    def _failed(self, problem: Exception) -> None:
        if not self.paused:
            self.paused = True
            log.warning("presence paused: Redis failed (%s)", problem)

    def _worked(self) -> None:
        if self.paused:
            self.paused = False
            log.info("presence resumed")

    async def put(self, user_id: int, socket_id: str, status: str) -> None:
        try:
            await self.inner.put(user_id, socket_id, status)
        except Exception as problem:
            self._failed(problem)
            return
        self._worked()

    async def drop(self, user_id: int, socket_id: str) -> None:
        try:
            await self.inner.drop(user_id, socket_id)
        except Exception as problem:
            self._failed(problem)
            return
        self._worked()

    async def put_many(self, entries: list[tuple[int, str, str]]) -> None:
        try:
            await self.inner.put_many(entries)
        except Exception as problem:
            self._failed(problem)
            return
        self._worked()

    async def change(self, user_id: int, socket_id: str, status: str | None) -> tuple[str, str]:
        try:
            result = await self.inner.change(user_id, socket_id, status)
        except Exception as problem:
            self._failed(problem)
            return OFFLINE, OFFLINE  # nothing to announce
        self._worked()
        return result

    async def statuses(self, user_ids: list[int]) -> dict[int, str]:
        try:
            result = await self.inner.statuses(user_ids)
        except Exception as problem:
            self._failed(problem)
            return dict.fromkeys(user_ids, OFFLINE)
        self._worked()
        return result


_stores: dict[object, Store] = {}


def store() -> Store:
    """The store for the running event loop (a Redis connection belongs to one loop)."""
    import asyncio

    loop = asyncio.get_running_loop()
    current = _stores.get(loop)
    if current is None:
        url = getattr(settings, "REDIS_URL", "")
        current = _stores[loop] = Paused(RedisStore(url)) if url else _memory
    return current


_memory = MemoryStore()


def statuses_now(user_ids: list[int]) -> dict[int, str]:
    """Each user's status, read from synchronous code (a service routing a ticket): from
    Redis through the shared synchronous client when ``REDIS_URL`` is set, else from this
    process's store. Everyone is offline while Redis cannot be reached, as for ``Paused``."""
    ids = list(user_ids)
    if not ids:
        return {}
    if not getattr(settings, "REDIS_URL", ""):
        now = time.time()
        return {
            uid: aggregate(
                [s for s, expiry in _memory.entries.get(uid, {}).values() if expiry > now]
            )
            for uid in ids
        }
    from messaging import redis_clients

    try:
        pipe = redis_clients.sync_client().pipeline(transaction=False)
        for uid in ids:
            pipe.hvals(RedisStore._key(uid))
        rows = pipe.execute()
    except Exception as problem:
        log.warning("presence unreadable: Redis failed (%s)", problem)
        return dict.fromkeys(ids, OFFLINE)
    now = time.time()
    return {uid: _live(values, now) for uid, values in zip(ids, rows, strict=True)}
