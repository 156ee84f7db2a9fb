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

When Redis fails, the worker runs degraded rather than refusing anyone: joins and leaves
change only the local registrations (a socket that connects still gets ``hello``; leaving is
never partial), events published here still reach the local sockets at once, and events of
the other workers arrive through the check below. The hub reconnects by itself every
``RECONNECT_SECONDS``, subscribes again to every group it has sockets for, and compares at
once each of its threads with the database. One line is logged when it degrades and one
when it has recovered.

The check: every ``CHECK_SECONDS`` (``ATRIUM_DELIVERY_CHECK_SECONDS``, 2 s by default; and
right after a reconnect), one query reads the
``last_seq`` of every thread this worker has subscribers for; a thread whose newest event
the hub has not handed out is announced to its sockets (``hub.thread_position``), and a
socket behind it replays the rest from the database, through the same path as a gap in the
live events (``messaging.consumers.threads``): in order, once. Whatever goes wrong between
the commit and a socket (a lost publish, a dropped subscription, a full outbox), an open
subscribed socket has every stored event within two checks plus a replay (an event is
announced once two checks in a row found it missing, so that a busy worker does not replay
from the database what is merely on its way; right after a reconnect, at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections import defaultdict, deque
from typing import Protocol

from channels.layers import get_channel_layer
from django.conf import settings

from messaging import access, events, presence
from messaging.database import db

log = logging.getLogger(__name__)

GROUP_REFRESH_SECONDS = 3600  # well inside channels-redis's default group expiry (a day)
RENEW_BATCH = 500
CHECK_SECONDS = 2.0
RECONNECT_SECONDS = 0.5
THREAD_PREFIX = events.thread_group(0)[:-1]


class Listener(Protocol):
    async def hub_message(self, message: dict) -> None: ...

    def presence_entry(self) -> tuple[int, str, str]: ...


def thread_positions(thread_pks: list[int]) -> dict[int, int]:
    """The newest ``seq`` of each thread, in one query."""
    from messaging.models import Thread

    return dict(Thread.objects.filter(pk__in=thread_pks).values_list("pk", "last_seq"))


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

    async def receive(self) -> dict | None:
        return await self.layer.receive(self.channel)

    async def resubscribe(self, groups: set[str], *, fresh: bool) -> None:
        for group in groups:
            await self.add(group)


class _PubSubTransport:
    """Through Redis pub/sub, on a connection of its own (it blocks reading)."""

    READ_SECONDS = 1.0
    CONFIRM_SECONDS = 5.0

    def __init__(self, url: str) -> None:
        import redis.asyncio

        self.client = redis.asyncio.Redis.from_url(
            url,
            socket_timeout=None,
            socket_connect_timeout=2,
            socket_keepalive=True,
            health_check_interval=30,
        )
        self.pubsub = self.client.pubsub()
        self._confirmations: dict[bytes, list[asyncio.Future]] = defaultdict(list)
        # Messages read while waiting for the confirmations of a resubscription.
        self._early: deque[dict] = deque()

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

    async def receive(self) -> dict | None:
        """The next message, or None if nothing came for READ_SECONDS."""
        if self._early:
            return self._early.popleft()
        message = await self.pubsub.get_message(timeout=self.READ_SECONDS)
        if message is None:
            return None
        kind = message.get("type")
        if kind == "message":
            return json.loads(message["data"])
        if kind == "subscribe":
            for waiting in self._confirmations.pop(message["channel"], ()):
                if not waiting.done():
                    waiting.set_result(None)
        return None

    async def resubscribe(self, groups: set[str], *, fresh: bool) -> None:
        """Subscribe to ``groups`` (on a new connection if ``fresh``) in one command, and
        return once Redis has confirmed every one. Called by the receive loop, so it reads
        the confirmations itself; messages read meanwhile are kept for ``receive``."""
        if fresh:
            old, self.pubsub = self.pubsub, self.client.pubsub()
            # Joins waiting on the old connection go on: their groups are in ``groups``.
            for waiting in [f for fs in self._confirmations.values() for f in fs]:
                if not waiting.done():
                    waiting.set_result(None)
            self._confirmations.clear()
            self._early.clear()
            with contextlib.suppress(Exception):  # the connection is already gone
                await old.aclose()
        names = [events.wire_channel(group) for group in groups]
        if fresh:
            names.append(events.wire_channel("hub.started"))
        if not names:
            return
        wanted = {name.encode() for name in names}
        await self.pubsub.subscribe(*names)
        async with asyncio.timeout(self.CONFIRM_SECONDS):
            while wanted:
                message = await self.pubsub.get_message(timeout=self.READ_SECONDS)
                if message is None:
                    continue
                if message.get("type") == "subscribe":
                    wanted.discard(message["channel"])
                elif message.get("type") == "message":
                    self._early.append(json.loads(message["data"]))


class Hub:
    def __init__(self) -> None:
        url = getattr(settings, "REDIS_URL", "")
        self.transport = _PubSubTransport(url) if url else _LayerTransport()
        # Marks what this hub published, so that the copy coming back is skipped.
        self.origin = uuid.uuid4().hex
        self.listeners: dict[str, set[Listener]] = {}
        # The groups of each listener, so that a socket leaves without scanning every group.
        self.groups_of: dict[Listener, set[str]] = defaultdict(set)
        # The newest seq handed out per thread group (live or announced by the check).
        self.seen: dict[str, int] = {}
        # True while the transport failed: registrations are local only until it is back.
        self.degraded = False
        self._started: asyncio.Event | None = None
        self._tasks: list[asyncio.Task] = []
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._adding: set[str] = set()
        self._checking: asyncio.Task | None = None
        # Thread groups the last check found ahead of the hub, and how far.
        self._lagging: dict[str, int] = {}
        self._check_failing = False
        # Sockets whose presence entries this worker keeps alive.
        self.renewals: set[Listener] = set()
        # This worker's sockets by user, re-checked when their access changes or is due.
        self.access = access.AccessWatch()

    async def _ensure_started(self) -> None:
        if self._started is None:
            self._started = asyncio.Event()
            try:
                await self.transport.start()
            except Exception as problem:
                self._degrade(problem)
            finally:
                self._tasks = [
                    asyncio.create_task(self._receive_loop(), name="messaging-hub-receive"),
                    asyncio.create_task(self._renew_loop(), name="messaging-hub-presence"),
                    asyncio.create_task(self.access.run(), name="messaging-hub-access"),
                    asyncio.create_task(self._check_loop(), name="messaging-hub-check"),
                ]
                if isinstance(self.transport, _LayerTransport):
                    self._tasks.append(
                        asyncio.create_task(self._refresh_loop(), name="messaging-hub-refresh")
                    )
                self._started.set()
        await self._started.wait()

    def _degrade(self, problem: Exception) -> None:
        if self.degraded:
            return
        self.degraded = True
        log.warning(
            "events between workers failed (%s): running degraded, reconnecting every %s s;"
            " this worker's sockets still get its own events, the others' through the check",
            problem,
            RECONNECT_SECONDS,
        )

    async def join(self, group: str, listener: Listener) -> None:
        """Deliver the group's messages to ``listener``; returns once this worker is in the
        group, so that whatever is published afterwards reaches it. While degraded it only
        registers the listener; the group is subscribed when the hub recovers, and the
        check replays what was missed meanwhile. Never raises for the transport."""
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
            if first and not self.degraded:
                self._adding.add(group)
                try:
                    await self.transport.add(group)
                except Exception as problem:
                    self._degrade(problem)
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
        if self._remove(group, listener):
            await self._release(group)

    async def leave_all(self, listener: Listener) -> None:
        """Remove every registration of ``listener`` at once (before any transport call, so
        that nothing is left behind whatever the transport does), then unsubscribe the
        groups nobody here needs any more."""
        emptied = [g for g in self.groups_of.pop(listener, ()) if self._remove(g, listener)]
        for group in emptied:
            await self._release(group)

    def _remove(self, group: str, listener: Listener) -> bool:
        """Unregister locally; True if that left the group without local members."""
        members = self.listeners.get(group)
        if not members or listener not in members:
            return False
        members.discard(listener)
        return not members

    async def _release(self, group: str) -> None:
        lock = self._locks[group]
        async with lock:
            # Someone may have joined while this waited for the lock.
            members = self.listeners.get(group)
            if members is not None and not members:
                del self.listeners[group]
                self.seen.pop(group, None)
                if not self.degraded:
                    try:
                        await self.transport.discard(group)
                    except Exception as problem:
                        # Left locally all the same; the reconnect subscribes only the
                        # groups that still have members.
                        self._degrade(problem)
        if not lock.locked() and group not in self.listeners:
            self._locks.pop(group, None)

    async def _receive_loop(self) -> None:
        while True:
            if self.degraded:
                await self._recover()
                continue
            try:
                message = await self.transport.receive()
            except asyncio.CancelledError:
                raise
            except Exception as problem:
                # Redis restarting must not end fan-out for the process.
                self._degrade(problem)
                continue
            if message is None or message.get("origin") == self.origin:
                continue  # nothing yet, or handed to the local sockets when published
            await self.dispatch(message)

    async def _recover(self) -> None:
        """Reconnect, subscribe again to every group with local members, and check the
        threads against the database; retried until it works."""
        while self.degraded:
            await asyncio.sleep(RECONNECT_SECONDS)
            try:
                subscribed = set(self.listeners)
                await self.transport.resubscribe(subscribed, fresh=True)
                while True:
                    # Sockets came and went meanwhile (locally only: the hub is degraded).
                    extra = set(self.listeners) - subscribed
                    gone = subscribed - set(self.listeners)
                    if not extra and not gone:
                        break
                    if extra:
                        await self.transport.resubscribe(extra, fresh=False)
                        subscribed |= extra
                    for group in gone:
                        await self.transport.discard(group)
                        subscribed.discard(group)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: S112 - still down: try again after a pause
                continue
            # No await between the last look at the groups and this: a join from now on
            # subscribes by itself.
            self.degraded = False
            log.info(
                "events between workers work again: %s groups subscribed, checking threads",
                len(subscribed),
            )
            self.check_soon()

    def check_soon(self) -> None:
        """Run the check now, in the background, announcing at once what is missing."""
        if self._checking is None or self._checking.done():
            self._checking = asyncio.create_task(
                self._check_once(confirm=False), name="messaging-hub-check-now"
            )

    async def _check_loop(self) -> None:
        while True:
            await asyncio.sleep(getattr(settings, "ATRIUM_DELIVERY_CHECK_SECONDS", CHECK_SECONDS))
            if self._checking is not None and not self._checking.done():
                continue
            await self._check_once()

    async def _check_once(self, *, confirm: bool = True) -> None:
        try:
            await self.check(confirm=confirm)
        except asyncio.CancelledError:
            raise
        except Exception as problem:
            if not self._check_failing:
                log.warning("the thread check failed: %s", problem)
            self._check_failing = True
            return
        if self._check_failing:
            log.info("the thread check works again")
            self._check_failing = False

    async def check(self, *, confirm: bool = True) -> None:
        """One query for the newest seq of every thread this worker has sockets for; each
        thread with events the hub has not handed out is announced to its sockets, which
        replay what they miss from the database. With ``confirm``, an event is announced
        only once it was found missing by two checks in a row (the periodic check);
        without it, at once (right after a reconnect)."""
        groups = {
            int(group[len(THREAD_PREFIX) :]): group
            for group, members in self.listeners.items()
            if members and group.startswith(THREAD_PREFIX)
        }
        if not groups:
            return
        positions = await db(thread_positions)(list(groups))
        lagging, self._lagging = self._lagging, {}
        for thread_pk, last_seq in positions.items():
            group = groups[thread_pk]
            seen = self.seen.get(group, 0)
            if last_seq <= seen:
                continue
            before = lagging.get(group)
            if confirm and (before is None or before <= seen):
                # Newer than what the hub handed out, but maybe only on its way (committed,
                # not published yet): announced if still missing at the next check, so that
                # a busy worker does not replay from the database what is about to arrive.
                self._lagging[group] = last_seq
                continue
            self.seen[group] = last_seq
            await self.dispatch(
                {
                    "type": "hub.thread_position",
                    "group": group,
                    "thread": thread_pk,
                    "last_seq": last_seq,
                }
            )

    async def dispatch(self, message: dict) -> None:
        """Hand one message to the local sockets of its group."""
        group = message.get("group", "")
        seq = message.get("seq")
        if isinstance(seq, int) and group in self.listeners:
            self.seen[group] = max(self.seen.get(group, 0), seq)
        for listener in list(self.listeners.get(group, ())):
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
