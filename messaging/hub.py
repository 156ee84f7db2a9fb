"""Fan-out inside one worker process.

Per-recipient work in the channel layer is where the stack is slow, so sockets do not join
channel-layer groups themselves. Each process has one hub with one layer channel; the hub
joins a thread's (or user's) group when its first local socket needs it and leaves when the
last one goes. An event therefore crosses the layer once per worker, and the hub hands the
frame, encoded once by the service, to each local socket.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Protocol

from channels.layers import get_channel_layer

log = logging.getLogger(__name__)

GROUP_REFRESH_SECONDS = 3600  # well inside channels-redis's default group expiry (a day)


class Listener(Protocol):
    async def hub_message(self, message: dict) -> None: ...

    async def presence_renew(self) -> None: ...


class Hub:
    def __init__(self) -> None:
        self.layer = get_channel_layer()
        self.channel: str | None = None
        self.listeners: dict[str, set[Listener]] = defaultdict(set)
        self._started: asyncio.Event | None = None
        self._tasks: list[asyncio.Task] = []
        self._lock = asyncio.Lock()
        # Sockets whose presence entries this worker keeps alive.
        self.renewals: set[Listener] = set()

    async def _ensure_started(self) -> None:
        if self._started is None:
            self._started = asyncio.Event()
            self.channel = await self.layer.new_channel("hub.")
            self._tasks = [
                asyncio.create_task(self._receive_loop(), name="messaging-hub-receive"),
                asyncio.create_task(self._refresh_loop(), name="messaging-hub-refresh"),
                asyncio.create_task(self._renew_loop(), name="messaging-hub-presence"),
            ]
            self._started.set()
        await self._started.wait()

    async def join(self, group: str, listener: Listener) -> None:
        await self._ensure_started()
        async with self._lock:
            first = not self.listeners.get(group)
            self.listeners[group].add(listener)
            if first:
                await self.layer.group_add(group, self.channel)

    async def leave(self, group: str, listener: Listener) -> None:
        if self.channel is None:
            return
        async with self._lock:
            members = self.listeners.get(group)
            if not members:
                return
            members.discard(listener)
            if not members:
                del self.listeners[group]
                await self.layer.group_discard(group, self.channel)

    async def leave_all(self, listener: Listener) -> None:
        for group in [g for g, members in self.listeners.items() if listener in members]:
            await self.leave(group, listener)

    async def _receive_loop(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                # A layer hiccup (Redis restarting) must not end fan-out for the process;
                # sockets catch up from the database through their sequence numbers.
                log.exception("hub receive failed; retrying")
                await asyncio.sleep(0.5)
                continue
            for listener in list(self.listeners.get(message.get("group", ""), ())):
                try:
                    await listener.hub_message(message)
                except Exception:
                    if getattr(listener, "closing", False):
                        # The socket went away while this was on its way: nothing to do,
                        # the client catches up when it reconnects.
                        continue
                    log.exception("delivering %s to a socket failed", message.get("type"))

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(GROUP_REFRESH_SECONDS)
            for group in list(self.listeners):
                try:
                    await self.layer.group_add(group, self.channel)
                except Exception:
                    log.exception("refreshing group %s failed", group)

    async def _renew_loop(self) -> None:
        from messaging.presence import RENEW_SECONDS

        while True:
            await asyncio.sleep(RENEW_SECONDS)
            for listener in list(self.renewals):
                try:
                    await listener.presence_renew()
                except Exception:
                    log.exception("renewing presence failed")


_hubs: dict[asyncio.AbstractEventLoop, Hub] = {}


def hub() -> Hub:
    """The hub of the running event loop (one per worker; tests run one loop per test)."""
    loop = asyncio.get_running_loop()
    current = _hubs.get(loop)
    if current is None:
        for stale in [lp for lp in _hubs if lp.is_closed()]:
            del _hubs[stale]
        current = _hubs[loop] = Hub()
    return current
