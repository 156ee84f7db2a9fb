"""Thread subscriptions: subscribe with replay from a position, unsubscribe, history pages,
and the live thread events from the hub, kept in sequence (a gap is replayed from the
database, and so is whatever the hub's check finds this socket behind on)."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field

from accounts.errors import Invalid
from messaging import access, events, ratelimit, selectors
from messaging.consumers.frames import int_field, str_field
from messaging.database import db
from messaging.models import Thread

# One logger for the whole socket, so its lines are filed under one name.
log = logging.getLogger("messaging.consumers")

# At most this many stored events are replayed by one subscribe; a client further behind is
# told (``truncated``, ``first_seq``) and pages what came before with ``history``.
REPLAY_LIMIT = 200


@dataclass
class Subscription:
    thread: Thread
    last_sent: int
    syncing: bool = True
    pending: list[tuple[int, str]] = field(default_factory=list)
    last_typing: float = 0.0
    viewing: str | None = None  # the page this socket says it shows (``viewing`` frames)
    last_viewing: float = 0.0


class ThreadsMixin:
    """Thread frames and live thread events of ``PortalConsumer``; uses its
    ``subscriptions``, ``access``, ``hub`` and ``_tasks``."""

    async def on_subscribe(self, frame: dict) -> None:
        thread_id = str_field(frame, "thread")
        after = int_field(frame, "after", default=0)
        # Counted like sends: every subscribe may replay up to REPLAY_LIMIT stored events.
        stamp, allowed = await asyncio.gather(
            access.stamp_of(self.user.pk),
            ratelimit.aallow(user_id=self.user.pk, action="subscribe"),
        )
        await self._gate(stamp, stamped=True)
        if not allowed:
            raise Invalid("You are subscribing too fast; wait a moment.", code="rate_limited")
        if thread_id in self.access.threads:
            thread = self._thread(thread_id)  # remembered: no database call
        else:
            thread = await db(self._thread)(thread_id)
        subscription = Subscription(thread=thread, last_sent=after)
        self.subscriptions[thread.pk] = subscription
        # Join first, buffering live events, then read the position and replay from the
        # database: nothing falls in between, and anything buffered that the replay already
        # sent is dropped by seq.
        await self.hub.join(events.thread_group(thread.pk), self)

        def position() -> tuple[int, int, list[tuple[int, str]]]:
            last_seq = selectors.thread_position(thread.pk)
            if after >= last_seq:
                return last_seq, after, []
            # A long way behind: only the newest REPLAY_LIMIT events; the client pages the
            # rest with history.
            start = max(after, last_seq - REPLAY_LIMIT)
            return last_seq, start, selectors.events_after(thread, start, limit=REPLAY_LIMIT)

        last_seq, start, rows = await db(position)()
        # A position beyond the end would silently swallow the next live events.
        subscription.last_sent = min(start, last_seq)
        for seq, text in rows:
            await self.send(text_data=text)
            subscription.last_sent = seq
        if len(rows) >= REPLAY_LIMIT:
            # Written while this replay was read: still in order, nothing skipped.
            await self._catch_up(subscription)
        reply: dict = {
            "type": "subscribed",
            "thread": thread.public_id,
            "last_seq": subscription.last_sent,
        }
        if start > after:
            reply["truncated"] = True
            reply["first_seq"] = start + 1
        await self._reply(reply, frame)
        await self._flush_pending(subscription)

    async def on_unsubscribe(self, frame: dict) -> None:
        thread_id = str_field(frame, "thread")
        for pk, subscription in list(self.subscriptions.items()):
            if subscription.thread.public_id == thread_id:
                await self._viewing_left([subscription])
                del self.subscriptions[pk]
                await self.hub.leave(events.thread_group(pk), self)
        await self._reply({"type": "unsubscribed", "thread": thread_id}, frame)

    async def on_history(self, frame: dict) -> None:
        thread_id = str_field(frame, "thread")
        limit = min(int_field(frame, "limit", default=50), selectors.HISTORY_LIMIT) or 1
        before = frame.get("before")
        if before is not None:
            before = int_field(frame, "before")
        await self._gate()

        def page() -> tuple[Thread, int, list[tuple[int, str]]]:
            thread = self._thread(thread_id)
            end = selectors.thread_position(thread.pk) + 1 if before is None else before
            return thread, end, selectors.events_before(thread, end, limit + 1)

        thread, before, rows = await db(page)()
        has_more = len(rows) > limit
        rows = rows[-limit:]
        head = {
            "type": "history",
            "thread": thread.public_id,
            "before": before,
            "has_more": has_more,
        }
        if frame.get("ref") is not None:
            head["ref"] = frame["ref"]
        # Stored frames are spliced in as they are, not decoded and encoded again.
        text = json.dumps(head)[:-1] + ',"events":[' + ",".join(f for _, f in rows) + "]}"
        await self.send(text_data=text)

    # --- live thread events -----------------------------------------------------------------

    async def _live_event(self, thread_pk: int, seq: int, frame: str) -> None:
        subscription = self.subscriptions.get(thread_pk)
        if subscription is None:
            return
        if subscription.syncing:
            subscription.pending.append((seq, frame))
            return
        if seq <= subscription.last_sent:
            return
        if seq == subscription.last_sent + 1:
            subscription.last_sent = seq
            await self.send(text_data=frame)
            return
        # A gap: the layer dropped something. The database has it; replay from there.
        log.info(
            "gap in thread %s (%s after %s): replaying", thread_pk, seq, subscription.last_sent
        )
        subscription.pending.append((seq, frame))
        self._start_resync(subscription)

    def _thread_position(self, thread_pk: int, last_seq: int) -> None:
        """The hub's check found the thread at ``last_seq``: replay what this socket has not
        had (events whose push was lost, or published while Redis was down)."""
        subscription = self.subscriptions.get(thread_pk)
        if subscription is None or subscription.syncing or last_seq <= subscription.last_sent:
            return
        log.info(
            "thread %s behind (%s of %s): replaying", thread_pk, subscription.last_sent, last_seq
        )
        self._start_resync(subscription)

    def _start_resync(self, subscription: Subscription) -> None:
        subscription.syncing = True
        task = asyncio.create_task(self._resync(subscription))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _catch_up(self, subscription: Subscription) -> None:
        while True:
            rows = await db(selectors.events_after)(subscription.thread, subscription.last_sent)
            for seq, frame in rows:
                await self.send(text_data=frame)
                subscription.last_sent = seq
            if len(rows) < selectors.CATCH_UP_BATCH:
                return

    async def _flush_pending(self, subscription: Subscription) -> None:
        while True:
            pending = sorted(subscription.pending)
            subscription.pending = []
            for seq, frame in pending:
                if seq <= subscription.last_sent:
                    continue
                if seq != subscription.last_sent + 1:
                    await self._catch_up(subscription)
                    if seq <= subscription.last_sent:
                        continue
                subscription.last_sent = seq
                await self.send(text_data=frame)
            if not subscription.pending:
                subscription.syncing = False
                return

    async def _resync(self, subscription: Subscription) -> None:
        try:
            await self._catch_up(subscription)
            await self._flush_pending(subscription)
        except Exception:
            log.exception("replay of thread %s failed", subscription.thread.pk)
