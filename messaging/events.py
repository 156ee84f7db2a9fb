"""Event types, group names and publishing.

Persisted thread events are published to the thread's group after the database commit;
per-user notices (access changes, read state, notifications) to the user's group; presence
changes once per client account, to the account's presence group. Group names come from
these functions only.

What is published goes to the sockets of this process at once (through its hub) and to the
other workers: over Redis pub/sub when ``REDIS_URL`` is set (see ``messaging.hub``), else
through the channel layer. Publishing from the database threads does not wait for either:
the commit is done, the push is a hint, so the thread goes on with the next call while the
event loop sends it. Sends to one group keep their order (a thread's events are pushed in
commit order), and at most ``MAX_LAYER_OPERATIONS`` layer operations run at once per
process: redis-py's pool refuses connections beyond its limit instead of waiting for one.

A publish that fails (Redis down or restarting) is not dropped: the loop's publisher keeps
it in an outbox (at most ``OUTBOX_LIMIT`` messages), and every later one behind it, so that
each group's messages still leave in order, and retries every ``RETRY_SECONDS`` until Redis
takes them again. One line is logged when publishing starts failing and one when the outbox
has drained. Typing hints are not kept (they mean nothing seconds later). Whatever the outbox
cannot hold is still in the database: each worker's hub compares its threads with it
(``messaging.hub``, ``CHECK_SECONDS``) and replays what its sockets missed.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import json
import logging
import os
import weakref

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

from messaging import redis_clients

log = logging.getLogger(__name__)

MAX_LAYER_OPERATIONS = 64
OUTBOX_LIMIT = 20_000
RETRY_SECONDS = 0.5
# A worker with more publishes than this waiting to go out is behind: it refuses new sends
# (``overloaded``) rather than acking events it cannot deliver in time.
PUBLISH_BACKLOG_LIMIT = 2_000


def thread_group(thread_id: int) -> str:
    return f"thread.{thread_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def presence_group(account_id: int) -> str:
    """Presence changes of the people of one client account (members and team)."""
    return f"presence.{account_id}"


def wire_channel(group: str) -> str:
    """The Redis pub/sub channel of a group. Pub/sub ignores Redis's numbered databases, so
    the name carries the URL's: deployments (and test runs) sharing a server stay apart."""
    digest = hashlib.sha256(settings.REDIS_URL.encode()).hexdigest()[:12]
    return f"atrium.{digest}.{group}"


def session_tag(session_key: str | None) -> str:
    """Names a session in notices without passing its key around."""
    return hashlib.sha256((session_key or "").encode()).hexdigest()[:32]


def encode(frame: dict) -> str:
    """Frames are encoded once per event and sent as the same text to every recipient."""
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False)


class _LoopPublisher:
    """Layer sends of one event loop: bounded in number, in order per group, and kept in the
    outbox while they cannot be sent."""

    def __init__(self) -> None:
        self.slots = asyncio.Semaphore(MAX_LAYER_OPERATIONS)
        self.last: dict[str, asyncio.Future] = {}
        self.outbox: collections.deque[tuple[str, dict]] = collections.deque()
        self.dropped = 0
        # Publishes queued behind one another and not sent (nor kept) yet.
        self.pending = 0
        self._draining: asyncio.Task | None = None

    async def run(self, operation, *args) -> None:
        async with self.slots:
            await operation(*args)

    def group_send_soon(self, group: str, message: dict) -> None:
        """Queue a group_send behind the previous one to the same group (loop thread only)."""
        previous = self.last.get(group)
        task = asyncio.ensure_future(self._group_send_after(previous, group, message))
        self.last[group] = task
        self.pending += 1
        task.add_done_callback(lambda done: self._forget(group, done))

    def _forget(self, group: str, task: asyncio.Future) -> None:
        self.pending -= 1
        if self.last.get(group) is task:
            del self.last[group]

    async def _group_send_after(self, previous, group: str, message: dict) -> None:
        if previous is not None:
            await asyncio.wait([previous])
        await apublish(group, message)

    async def send(self, group: str, message: dict) -> None:
        """Send to the other workers now, or keep it if that fails (or if older messages
        are still waiting: nothing overtakes them)."""
        if self.outbox:
            self._keep(group, message)
            return
        try:
            await self.run(_transmit, group, message)
        except Exception as problem:
            log.warning(
                "publishing to Redis failed (%s): keeping events and retrying every %s s",
                problem,
                RETRY_SECONDS,
            )
            self._keep(group, message)

    def _keep(self, group: str, message: dict) -> None:
        if message.get("type") == "hub.ephemeral":
            return  # a typing hint that arrives late is wrong, not late
        if len(self.outbox) >= OUTBOX_LIMIT:
            # The oldest goes; the hubs' check replays stored events from the database.
            self.outbox.popleft()
            if not self.dropped:
                log.warning("the outbox is full (%s): dropping the oldest events", OUTBOX_LIMIT)
            self.dropped += 1
        self.outbox.append((group, message))
        if self._draining is None or self._draining.done():
            self._draining = asyncio.ensure_future(self._drain())

    async def _drain(self) -> None:
        """Retry the oldest kept message until Redis takes it, then send the rest in order.
        A message leaves the outbox only once it was sent, so later ones wait behind it."""
        while self.outbox:
            group, message = self.outbox[0]
            try:
                await self.run(_transmit, group, message)
            except asyncio.CancelledError:
                raise
            except Exception:
                await asyncio.sleep(RETRY_SECONDS)
                continue
            self.outbox.popleft()
        log.info(
            "publishing to Redis works again: kept events sent%s",
            f" ({self.dropped} dropped: replayed from the database)" if self.dropped else "",
        )
        self.dropped = 0


_publishers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopPublisher] = (
    weakref.WeakKeyDictionary()
)


def publisher() -> _LoopPublisher:
    loop = asyncio.get_running_loop()
    current = _publishers.get(loop)
    if current is None:
        current = _publishers[loop] = _LoopPublisher()
    return current


def behind() -> bool:
    """Whether this worker's publishes are backing up (see ``PUBLISH_BACKLOG_LIMIT``); kept
    ones (Redis down) do not count: they wait for Redis, not for this worker."""
    return publisher().pending > PUBLISH_BACKLOG_LIMIT


async def layer_operation(operation, *args) -> None:
    """Run one channel-layer call (group_add, group_discard, …) within the process limit."""
    await publisher().run(operation, *args)


async def apublish(group: str, message: dict) -> None:
    """To this process's sockets now, then to the other workers."""
    from messaging.hub import running_hub  # the hub imports this module

    local = running_hub()
    if local is not None:
        message = {**message, "origin": local.origin}
        await local.dispatch(message)
    await agroup_send(group, message)


async def agroup_send(group: str, message: dict) -> None:
    """To the hubs of every worker (this one skips what it published itself); kept in the
    outbox while that fails."""
    await publisher().send(group, message)


async def _transmit(group: str, message: dict) -> None:
    if redis_clients.configured():
        await redis_clients.publish_client().publish(wire_channel(group), json.dumps(message))
        return
    layer = get_channel_layer()
    if layer is not None:
        await layer.group_send(group, message)


def _calling_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop that handed this thread its work (``sync_to_async``), if any."""
    local = SyncToAsync.threadlocal
    if getattr(local, "main_event_loop_pid", None) != os.getpid():
        return None
    loop = getattr(local, "main_event_loop", None)
    if loop is None or loop.is_closed() or not loop.is_running():
        return None
    return loop


def _send(group: str, message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    loop = _calling_loop()
    if loop is not None:
        loop.call_soon_threadsafe(lambda: publisher().group_send_soon(group, message))
        return
    try:
        if redis_clients.configured():
            redis_clients.sync_client().publish(wire_channel(group), json.dumps(message))
        else:
            async_to_sync(layer.group_send)(group, message)
    except Exception as problem:
        # Outside an event loop there is no outbox: the event is stored, and each worker's
        # check (``messaging.hub``) replays it from the database.
        log.warning("publishing to %s failed: %s", group, problem)


def publish_thread_event_on_commit(*, thread_id: int, seq: int, frame: str) -> None:
    """A stored event, pushed to every worker with subscribers once the commit is done."""
    group = thread_group(thread_id)
    message = {
        "type": "hub.thread_event",
        "group": group,
        "thread": thread_id,
        "seq": seq,
        "frame": frame,
    }
    transaction.on_commit(lambda: _send(group, message))


async def publish_ephemeral(*, thread_id: int, frame: str, sender_id: int) -> None:
    """An event that is never stored (typing): pushed now, lost if nobody listens."""
    group = thread_group(thread_id)
    message = {
        "type": "hub.ephemeral",
        "group": group,
        "thread": thread_id,
        "frame": frame,
        "sender": sender_id,
    }
    await apublish(group, message)


def publish_user_notice(*, user_id: int, notice: dict) -> None:
    group = user_group(user_id)
    _send(group, {"type": "hub.user_notice", "group": group, "user": user_id, "notice": notice})


def publish_user_notice_on_commit(*, user_id: int, notice: dict) -> None:
    transaction.on_commit(lambda: publish_user_notice(user_id=user_id, notice=notice))


def publish_presence(*, account_ids: list[int], notice: dict) -> None:
    """One person's new overall presence, once to each account they belong to; each
    worker's hub hands it to its local sockets watching that account. From the event loop;
    sent in the background, in order per account."""
    sender = publisher()
    for account_id in account_ids:
        group = presence_group(account_id)
        sender.group_send_soon(group, {"type": "hub.presence", "group": group, "notice": notice})
