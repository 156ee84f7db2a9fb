"""Fan-out inside one worker process.

Per-recipient work in the channel layer is where the stack is slow, so sockets do not join
channel-layer groups themselves. Each process has one hub; the hub joins a thread's (or
user's) group when its first local socket needs it and leaves when the last one goes. An
event therefore crosses between workers once per worker, and the hub hands the frame,
encoded once by the service, to each local socket. Presence changes travel the same way,
once per client account (``events.presence_group``), to the sockets watching it. An event
published in this process is handed to the local sockets directly (``dispatch``), and the
copy that comes back from Redis is skipped. The hub also runs the worker's access watch
(``messaging.access.AccessWatch``): the loop that re-checks its sockets when someone's access
was reduced anywhere, or when their answers or session are due.

Between workers (``REDIS_URL`` set), events go over Redis pub/sub: one PUBLISH per event,
and each hub reads one stream carrying everything its subscriptions match, with no round
trip per message. (A channel-layer channel costs a blocking pop and a clean-up per message
received, one message at a time: at 100 events/s the hub fell behind.) Without Redis, the
hub reads the in-process channel layer.

Joining and leaving a group already joined costs no layer call; joins of different groups
do not wait for each other (thousands of sockets connect at once), while joins and leaves
of one group run one after another, so that a quick leave and join cannot end with the
worker out of the group.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections import defaultdict
from typing import Protocol

from channels.layers import get_channel_layer
from django.conf import settings

from messaging import access, events, presence

log = logging.getLogger(__name__)

GROUP_REFRESH_SECONDS = 3600  # well inside channels-redis's default group expiry (a day)
RENEW_BATCH = 500


class Listener(Protocol):
    async def hub_message(self, message: dict) -> None: ...

    def presence_entry(self) -> tuple[int, str, str]: ...


class _LayerTransport:
    """Through the channel layer: the single-process default (the in-memory layer)."""

    def __init__(self) -> None:
        self.layer = get_channel_layer()
        self.channel: str | None = None

    async def start(self) -> None:
        self.channel = await self.layer.new_channel("hub.")

    async def add(self, group: str) -> None:
        await events.layer_operation(self.layer.group_add, group, self.channel)

    async def discard(self, group: str) -> None:
        await events.layer_operation(self.layer.group_discard, group, self.channel)

    async def receive(self) -> dict:
        return await self.layer.receive(self.channel)


class _PubSubTransport:
    """Through Redis pub/sub, on a connection of its own (it blocks reading)."""

    READ_SECONDS = 5.0
    CONFIRM_SECONDS = 5.0

    def __init__(self, url: str) -> None:
        import redis.asyncio

        self.client = redis.asyncio.Redis.from_url(
            url, socket_timeout=None, socket_keepalive=True, health_check_interval=30
        )
        self.pubsub = self.client.pubsub()
        self._confirmations: dict[bytes, list[asyncio.Future]] = defaultdict(list)

    async def start(self) -> None:
        # A first subscription opens the connection that receive() reads.
        await self.pubsub.subscribe(events.wire_channel("hub.started"))

    async def add(self, group: str) -> None:
        """Subscribe, and return once Redis has confirmed it: whatever is published after
        this returns reaches the hub."""
        name = events.wire_channel(group)
        confirmed = asyncio.get_running_loop().create_future()
        self._confirmations[name.encode()].append(confirmed)
        await self.pubsub.subscribe(name)
        try:
            await asyncio.wait_for(asyncio.shield(confirmed), self.CONFIRM_SECONDS)
        except TimeoutError:
            log.warning("no confirmation of the subscription to %s", group)

    async def discard(self, group: str) -> None:
        await self.pubsub.unsubscribe(events.wire_channel(group))

    async def receive(self) -> dict:
        while True:
            message = await self.pubsub.get_message(timeout=self.READ_SECONDS)
            if message is None:
                continue
            kind = message.get("type")
            if kind == "message":
                return json.loads(message["data"])
            if kind == "subscribe":
                for waiting in self._confirmations.pop(message["channel"], ()):
                    if not waiting.done():
                        waiting.set_result(None)


class Hub:
    def __init__(self) -> None:
        url = getattr(settings, "REDIS_URL", "")
        self.transport = _PubSubTransport(url) if url else _LayerTransport()
        # Marks what this hub published, so that the copy coming back is skipped.
        self.origin = uuid.uuid4().hex
        self.listeners: dict[str, set[Listener]] = {}
        # The groups of each listener, so that a socket leaves without scanning every group.
        self.groups_of: dict[Listener, set[str]] = defaultdict(set)
        self._started: asyncio.Event | None = None
        self._tasks: list[asyncio.Task] = []
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._adding: set[str] = set()
        # Sockets whose presence entries this worker keeps alive.
        self.renewals: set[Listener] = set()
        # This worker's sockets by user, re-checked when their access changes or is due.
        self.access = access.AccessWatch()

    async def _ensure_started(self) -> None:
        if self._started is None:
            self._started = asyncio.Event()
            await self.transport.start()
            self._tasks = [
                asyncio.create_task(self._receive_loop(), name="messaging-hub-receive"),
                asyncio.create_task(self._renew_loop(), name="messaging-hub-presence"),
                asyncio.create_task(self.access.run(), name="messaging-hub-access"),
            ]
            if isinstance(self.transport, _LayerTransport):
                self._tasks.append(
                    asyncio.create_task(self._refresh_loop(), name="messaging-hub-refresh")
                )
            self._started.set()
        await self._started.wait()

    async def join(self, group: str, listener: Listener) -> None:
        """Deliver the group's messages to ``listener``; returns once this worker is in the
        group, so that whatever is published afterwards reaches it."""
        await self._ensure_started()
        self.groups_of[listener].add(group)
        members = self.listeners.get(group)
        if members is not None and group not in self._adding:
            members.add(listener)
            return
        async with self._locks[group]:
            members = self.listeners.setdefault(group, set())
            first = not members
            members.add(listener)
            if first:
                self._adding.add(group)
                try:
                    await self.transport.add(group)
                finally:
                    self._adding.discard(group)

    async def leave(self, group: str, listener: Listener) -> None:
        if self._started is None:
            return
        mine = self.groups_of.get(listener)
        if mine is not None:
            mine.discard(group)
            if not mine:
                del self.groups_of[listener]
        members = self.listeners.get(group)
        if not members or listener not in members:
            return
        members.discard(listener)
        if members:
            return
        lock = self._locks[group]
        async with lock:
            # Someone may have joined while this waited for the lock.
            if self.listeners.get(group) is members and not members:
                del self.listeners[group]
                await self.transport.discard(group)
        if not lock.locked() and group not in self.listeners:
            self._locks.pop(group, None)

    async def leave_all(self, listener: Listener) -> None:
        for group in list(self.groups_of.get(listener, ())):
            await self.leave(group, listener)

    async def _receive_loop(self) -> None:
        while True:
            try:
                message = await self.transport.receive()
            except asyncio.CancelledError:
                raise
            except Exception:
                # A hiccup (Redis restarting) must not end fan-out for the process; sockets
                # catch up from the database through their sequence numbers.
                log.exception("hub receive failed; retrying")
                await asyncio.sleep(0.5)
                continue
            if message.get("origin") == self.origin:
                continue  # handed to the local sockets when it was published
            await self.dispatch(message)

    async def dispatch(self, message: dict) -> None:
        """Hand one message to the local sockets of its group."""
        for listener in list(self.listeners.get(message.get("group", ""), ())):
            try:
                await listener.hub_message(message)
            except Exception:
                if getattr(listener, "closing", False):
                    # The socket went away while this was on its way: nothing to do, the
                    # client catches up when it reconnects.
                    continue
                log.exception("delivering %s to a socket failed", message.get("type"))

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(GROUP_REFRESH_SECONDS)
            for group in list(self.listeners):
                try:
                    await self.transport.add(group)
                except Exception:
                    log.exception("refreshing group %s failed", group)

    async def _renew_loop(self) -> None:
        while True:
            await asyncio.sleep(presence.RENEW_SECONDS)
            entries = [listener.presence_entry() for listener in list(self.renewals)]
            for start in range(0, len(entries), RENEW_BATCH):
                try:
                    await presence.store().put_many(entries[start : start + RENEW_BATCH])
                except Exception:
                    log.exception("renewing presence failed")


_hubs: dict[asyncio.AbstractEventLoop, Hub] = {}


def running_hub() -> Hub | None:
    """The hub of the running event loop if it has started, else None."""
    current = _hubs.get(asyncio.get_running_loop())
    return current if current is not None and current._started is not None else None


def hub() -> Hub:
    """The hub of the running event loop (one per worker; tests run one loop per test)."""
    loop = asyncio.get_running_loop()
    current = _hubs.get(loop)
    if current is None:
        for stale in [lp for lp in _hubs if lp.is_closed()]:
            del _hubs[stale]
        current = _hubs[loop] = Hub()
    return current
