"""The portal's one WebSocket per browser tab (``docs/protocol.md``).

Thin: each frame is validated here and handed to one service or selector, on the messaging
database threads (``messaging.database``). Permission rules live in ``accounts.permissions``;
a socket remembers its answers and the user between frames (``messaging.access``) and
checks before every frame that nothing reduced the user's access since, so a deactivated or
revoked user's next frame is refused even if the push announcing it was lost. Live events
arrive through the process hub (``messaging.hub``) already encoded and are sent as they are.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from channels.generic.websocket import AsyncWebsocketConsumer

from accounts.errors import AtriumError, Invalid, NotFound
from accounts.models import User
from messaging import (
    access,
    events,
    notifications,
    presence,
    protocol,
    ratelimit,
    selectors,
    services,
)
from messaging.database import db
from messaging.hub import hub
from messaging.models import Thread

log = logging.getLogger(__name__)

TYPING_INTERVAL_SECONDS = 3.0
CLOSE_ACCESS_ENDED = 4403


class FrameError(AtriumError):
    code = "bad_field"


@dataclass
class Subscription:
    thread: Thread
    last_sent: int
    syncing: bool = True
    pending: list[tuple[int, str]] = field(default_factory=list)
    last_typing: float = 0.0


def _thread_key(thread: Thread) -> tuple[int, int, bool]:
    """What a socket remembers of a thread it may read (small: an idle socket stays cheap)."""
    return (thread.pk, thread.account_id, thread.privileged)


def _fresh_user(user_id: int) -> User:
    """The connected user as the database has them now; NotFound once deactivated."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise NotFound("Your access has ended.", code="access_ended")
    return user


def _str_field(frame: dict, name: str, *, max_length: int = 64) -> str:
    value = frame.get(name)
    # NUL never occurs in an id, and PostgreSQL refuses it in a query (DataError).
    if not isinstance(value, str) or not value or len(value) > max_length or "\x00" in value:
        raise FrameError(f"'{name}' must be a non-empty string.", fields={name: "type"})
    return value


def _int_field(frame: dict, name: str, *, default: int | None = None) -> int:
    value = frame.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise FrameError(f"'{name}' must be a non-negative integer.", fields={name: "type"})
    return value


class PortalConsumer(AsyncWebsocketConsumer):
    """One signed-in tab. Refuses anonymous and inactive users at the handshake."""

    # No channel-layer channel per socket: the process hub reads the layer once for all
    # sockets, which saves a blocking Redis read and its buffers per connection.
    channel_layer_alias = None

    closing = False
    presence_watch = False
    _held: list[dict] | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            log.info("websocket refused: no signed-in session")
            await self.close()
            return
        self.user = user
        self.subscriptions: dict[int, Subscription] = {}
        self._tasks: set[asyncio.Task] = set()
        self.hub = hub()
        self.socket_id = uuid.uuid4().hex
        self.session_tag = events.session_tag(self.scope["session"].session_key)
        self.presence_status = presence.ONLINE
        self.presence_accounts: list[int] = []
        self.access = access.AccessCache()
        await self.accept()
        # The stamp is read before the database is: a reduction after this read shows up
        # as a new stamp at the next frame.
        stamp = await access.stamp_of(user.pk)
        # Counted as present before the greeting, so that whatever the client does after
        # hello sees this socket's presence. Telling others is not part of the handshake.
        _, (before, after), (hello, threads, accounts) = await asyncio.gather(
            self.hub.join(events.user_group(user.pk), self),
            presence.store().change(user.pk, self.socket_id, presence.ONLINE),
            db(self._greeting)(),
        )
        self.access.reset(stamp)
        self.access.threads.update(threads)
        self.presence_accounts = accounts
        await self.send(text_data=json.dumps(hello))
        self.hub.renewals.add(self)
        self._announce(before, after)

    def _greeting(self) -> tuple[dict, dict[str, tuple[int, int, bool]], list[int]]:
        summarised, notifications_unread = selectors.greeting(self.user)
        hello = protocol.hello_frame(
            self.user, [summary for _, summary in summarised], notifications_unread
        )
        threads = {thread.public_id: _thread_key(thread) for thread, _ in summarised}
        return hello, threads, selectors.presence_account_ids(self.user)

    async def websocket_disconnect(self, message: dict) -> None:
        self.closing = True
        await super().websocket_disconnect(message)

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "hub"):
            self.hub.renewals.discard(self)
            await self.hub.leave_all(self)
            before, after = await presence.store().change(self.user.pk, self.socket_id, None)
            self._announce(before, after)

    # --- access --------------------------------------------------------------------------

    async def _gate(self, stamp: object = None, *, stamped: bool = False) -> None:
        """Before every frame: if the user's access may have been reduced since this socket
        last asked (or long enough ago), re-load the user and keep only the remembered
        threads they may still read, in one database call; NotFound ``access_ended`` once
        deactivated."""
        if not stamped:
            stamp = await access.stamp_of(self.user.pk)
        if self.access.valid(stamp):
            return
        remembered = {key[0] for key in self.access.threads.values()}
        watching = self.presence_watch

        def confirm() -> tuple[User, set[int], list[int] | None]:
            user = _fresh_user(self.user.pk)
            still = selectors.visible_thread_ids(user, remembered)
            watched = selectors.presence_watched_account_ids(user) if watching else None
            return user, still, watched

        self.user, still, watched = await db(confirm)()
        self.access.reset(stamp, keep=still)
        if watched is not None:
            await self._watch_accounts(watched)

    def _thread(self, thread_id: str) -> Thread:
        """A thread the user may read (remembered, or asked of ``services.thread_for`` and
        remembered); NotFound otherwise. Runs on a database thread."""
        known = self.access.threads.get(thread_id)
        if known is not None:
            pk, account_id, privileged = known
            return Thread(id=pk, public_id=thread_id, account_id=account_id, privileged=privileged)
        thread = services.thread_for(self.user, thread_id)
        self.access.threads[thread_id] = _thread_key(thread)
        return thread

    async def _limited(self) -> None:
        """The gate and the per-user send limit, read together."""
        stamp, allowed = await asyncio.gather(
            access.stamp_of(self.user.pk),
            ratelimit.aallow(user_id=self.user.pk, action="message"),
        )
        await self._gate(stamp, stamped=True)
        if not allowed:
            raise Invalid("You are sending too fast; wait a moment.", code="rate_limited")

    # --- presence ---------------------------------------------------------------------------

    def _announce(self, before: str, after: str) -> None:
        """If the person's overall status changed, tell the accounts they belong to, on every
        worker; sent in the background, in order."""
        if after == before or not self.presence_accounts:
            return
        events.publish_presence(
            account_ids=self.presence_accounts,
            notice={"user": self.user.public_id, "user_pk": self.user.pk, "status": after},
        )

    def presence_entry(self) -> tuple[int, str, str]:
        return (self.user.pk, self.socket_id, self.presence_status)

    async def on_presence_subscribe(self, frame: dict) -> None:
        """Start receiving the presence of the people this user may see: a snapshot now,
        then changes as they happen."""
        await self._gate()
        people, accounts = await db(
            lambda: (
                selectors.visible_people(self.user),
                selectors.presence_watched_account_ids(self.user),
            )
        )()
        # Changes that arrive while the snapshot is read wait, then go through the same
        # "did it change for this socket" filter as every later one.
        self.presence_seen: dict[str, str] = {}
        self.presence_held: list[dict] | None = []
        self.presence_watch = True
        await self._watch_accounts(accounts)
        statuses = await presence.store().statuses([p.pk for p in people])
        users = [
            {"id": p.public_id, "name": p.name, "initials": p.initials, "status": statuses[p.pk]}
            for p in people
        ]
        self.presence_seen = {u["id"]: u["status"] for u in users}
        await self._reply({"type": "presence", "users": users}, frame)
        held, self.presence_held = self.presence_held, None
        for notice in held:
            await self._presence_notice(notice)

    async def _watch_accounts(self, accounts: list[int]) -> None:
        wanted = {events.presence_group(a) for a in accounts}
        mine = {g for g in self.hub.groups_of.get(self, ()) if g.startswith("presence.")}
        for group in mine - wanted:
            await self.hub.leave(group, self)
        await asyncio.gather(*(self.hub.join(group, self) for group in wanted - mine))

    async def _presence_notice(self, notice: dict) -> None:
        if not self.presence_watch or notice["user_pk"] == self.user.pk:
            return
        if self.presence_held is not None:
            self.presence_held.append(notice)
            return
        # A person in several of the accounts watched is announced once per account.
        if self.presence_seen.get(notice["user"]) == notice["status"]:
            return
        self.presence_seen[notice["user"]] = notice["status"]
        await self.send(
            text_data=json.dumps(
                {"type": "presence", "users": [{"id": notice["user"], "status": notice["status"]}]}
            )
        )

    async def on_presence_set(self, frame: dict) -> None:
        status = frame.get("status")
        if status not in presence.STATUSES:
            raise FrameError("'status' must be 'online' or 'away'.", fields={"status": "type"})
        await self._gate()
        self.presence_status = status
        before, after = await presence.store().change(self.user.pk, self.socket_id, status)
        self._announce(before, after)
        await self._reply({"type": "ok", "for": "presence.set", "status": status}, frame)

    # --- inbound frames ---------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        frame, error = protocol.parse_frame(text_data, bytes_data)
        if error is not None:
            await self.send(text_data=json.dumps(error))
            return
        handler = self.HANDLERS.get(frame["type"])
        ref = frame.get("ref")
        if handler is None:
            await self._error("unknown_type", f"Unknown frame type {frame['type']!r}.", ref)
            return
        try:
            await handler(self, frame)
        except AtriumError as problem:
            if problem.code == "access_ended":
                await self._end_access(problem.message, ref)
                return
            if problem.code == "not_found" and isinstance(frame.get("thread"), str):
                # Refused because the thread is out of reach now (the notice may have been
                # lost): stop its live events too.
                await self._drop_thread(frame["thread"])
            log.info(
                "frame %s from %s refused: %s", frame["type"], self.user.public_id, problem.code
            )
            await self._error(
                problem.code, problem.message, ref if ref is not None else frame.get("client_id")
            )

    async def _end_access(self, message: str, ref=None, *, code: str = "access_ended") -> None:
        """The user was deactivated or signed out: nothing more reaches this socket, and it
        closes."""
        self.subscriptions.clear()
        self.presence_watch = False
        await self.hub.leave_all(self)
        await self._error(code, message, ref)
        await self.close(code=CLOSE_ACCESS_ENDED)

    async def _drop_thread(self, thread_id: str) -> None:
        self.access.threads.pop(thread_id, None)
        for pk, subscription in list(self.subscriptions.items()):
            if subscription.thread.public_id == thread_id:
                del self.subscriptions[pk]
                await self.hub.leave(events.thread_group(pk), self)

    async def _error(self, code: str, message: str, ref=None) -> None:
        await self.send(text_data=json.dumps(protocol.error_frame(code, message, ref=ref)))

    async def _reply(self, frame: dict, request: dict) -> None:
        if request.get("ref") is not None:
            frame["ref"] = request["ref"]
        await self.send(text_data=json.dumps(frame))

    async def on_ping(self, frame: dict) -> None:
        # Checked like every frame: a keep-alive must not keep a deactivated user's socket.
        await self._gate()
        await self._reply({"type": "pong"}, frame)

    async def on_subscribe(self, frame: dict) -> None:
        thread_id = _str_field(frame, "thread")
        after = _int_field(frame, "after", default=0)
        await self._gate()
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

        def position() -> tuple[int, list[tuple[int, str]]]:
            last_seq = selectors.thread_position(thread.pk)
            if after >= last_seq:
                return last_seq, []
            return last_seq, selectors.events_after(thread, after)

        last_seq, rows = await db(position)()
        # A position beyond the end would silently swallow the next live events.
        subscription.last_sent = min(after, last_seq)
        for seq, text in rows:
            await self.send(text_data=text)
            subscription.last_sent = seq
        if len(rows) >= selectors.CATCH_UP_BATCH:
            await self._catch_up(subscription)
        await self._reply(
            {"type": "subscribed", "thread": thread.public_id, "last_seq": subscription.last_sent},
            frame,
        )
        await self._flush_pending(subscription)

    async def on_unsubscribe(self, frame: dict) -> None:
        thread_id = _str_field(frame, "thread")
        for pk, subscription in list(self.subscriptions.items()):
            if subscription.thread.public_id == thread_id:
                del self.subscriptions[pk]
                await self.hub.leave(events.thread_group(pk), self)
        await self._reply({"type": "unsubscribed", "thread": thread_id}, frame)

    async def on_message_send(self, frame: dict) -> None:
        thread_id = _str_field(frame, "thread")
        raw_client_id = _str_field(frame, "client_id", max_length=64)
        try:
            client_id = uuid.UUID(raw_client_id)
        except ValueError:
            raise FrameError("'client_id' must be a UUID.", fields={"client_id": "type"}) from None
        body = frame.get("body")
        await self._limited()

        def send() -> services.SendResult:
            return services.message_send(
                actor=self.user,
                thread_id=thread_id,
                client_id=client_id,
                body=body,
                checked_thread=self._thread(thread_id),
            )

        result = await db(send)()
        await self._reply(
            {
                "type": "message.ack",
                "client_id": str(client_id),
                "id": result.message_id,
                "seq": result.seq,
                "thread": thread_id,
                "duplicate": result.duplicate,
            },
            frame,
        )

    async def on_message_edit(self, frame: dict) -> None:
        message_id = _str_field(frame, "id")
        body = frame.get("body")
        await self._limited()
        seq = await db(services.message_edit)(actor=self.user, message_id=message_id, body=body)
        await self._reply(
            {"type": "ok", "for": "message.edit", "id": message_id, "seq": seq}, frame
        )

    async def on_message_delete(self, frame: dict) -> None:
        message_id = _str_field(frame, "id")
        await self._gate()
        seq = await db(services.message_delete)(actor=self.user, message_id=message_id)
        await self._reply(
            {"type": "ok", "for": "message.delete", "id": message_id, "seq": seq}, frame
        )

    async def on_read(self, frame: dict) -> None:
        thread_id = _str_field(frame, "thread")
        seq = _int_field(frame, "seq")
        await self._gate()

        def mark() -> int:
            return services.read_mark(
                actor=self.user,
                thread_id=thread_id,
                seq=seq,
                checked_thread=self._thread(thread_id),
            )

        position = await db(mark)()
        await self._reply(
            {"type": "ok", "for": "read", "thread": thread_id, "seq": position}, frame
        )

    async def on_typing(self, frame: dict) -> None:
        thread_id = _str_field(frame, "thread")
        subscription = next(
            (s for s in self.subscriptions.values() if s.thread.public_id == thread_id), None
        )
        if subscription is None:
            raise NotFound("Subscribe to the thread first.", code="not_subscribed")
        now = time.monotonic()
        if now - subscription.last_typing < TYPING_INTERVAL_SECONDS:
            return  # Typing is a hint; extra ones are dropped silently.
        # Checked like every frame: access may have ended and the notice been lost.
        await self._gate()
        if thread_id in self.access.threads:
            thread = subscription.thread
        else:
            thread = await db(self._thread)(thread_id)
        subscription.last_typing = now
        text = services.typing_frame(actor=self.user, thread=thread)
        await events.publish_ephemeral(
            thread_id=subscription.thread.pk, frame=text, sender_id=self.user.pk
        )

    async def on_history(self, frame: dict) -> None:
        thread_id = _str_field(frame, "thread")
        limit = min(_int_field(frame, "limit", default=50), selectors.HISTORY_LIMIT) or 1
        before = frame.get("before")
        if before is not None:
            before = _int_field(frame, "before")
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

    async def on_notifications(self, frame: dict) -> None:
        await self._gate()
        items = await db(notifications.notifications_for)(self.user)
        unread = sum(1 for n in items if not n["read"])
        await self._reply(
            {"type": "notifications", "notifications": items, "unread": unread}, frame
        )

    async def on_notification_read(self, frame: dict) -> None:
        ids = frame.get("ids")
        await self._gate()
        changed = await db(notifications.notifications_mark_read)(actor=self.user, ids=ids)
        await self._reply({"type": "ok", "for": "notification.read", "changed": changed}, frame)

    async def on_thread_mute(self, frame: dict) -> None:
        thread_id = _str_field(frame, "thread")
        muted = frame.get("muted", True)
        if not isinstance(muted, bool):
            raise FrameError("'muted' must be true or false.", fields={"muted": "type"})
        await self._gate()

        def mute() -> None:
            notifications.thread_mute(actor=self.user, thread=self._thread(thread_id), muted=muted)

        await db(mute)()
        await self._reply(
            {"type": "ok", "for": "thread.mute", "thread": thread_id, "muted": muted}, frame
        )

    HANDLERS: dict[str, Callable[[PortalConsumer, dict], Awaitable[None]]] = {
        "ping": on_ping,
        "subscribe": on_subscribe,
        "unsubscribe": on_unsubscribe,
        "message.send": on_message_send,
        "message.edit": on_message_edit,
        "message.delete": on_message_delete,
        "read": on_read,
        "typing": on_typing,
        "history": on_history,
        "presence.subscribe": on_presence_subscribe,
        "notifications": on_notifications,
        "notification.read": on_notification_read,
        "thread.mute": on_thread_mute,
        "presence.set": on_presence_set,
    }

    # --- live events from the hub ----------------------------------------------------------

    async def hub_message(self, message: dict) -> None:
        kind = message["type"]
        if self._held is not None and kind != "hub.user_notice":
            # Access is being re-checked: nothing goes out until it is known what may.
            self._held.append(message)
            return
        if kind == "hub.thread_event":
            await self._live_event(message["thread"], message["seq"], message["frame"])
        elif kind == "hub.ephemeral":
            if message["thread"] in self.subscriptions and message["sender"] != self.user.pk:
                await self.send(text_data=message["frame"])
        elif kind == "hub.user_notice":
            await self._user_notice(message["notice"])
        elif kind == "hub.presence":
            await self._presence_notice(message["notice"])

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
        subscription.syncing = True
        subscription.pending.append((seq, frame))
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

    async def _user_notice(self, notice: dict) -> None:
        kind = notice.get("kind")
        if kind == "read":
            await self.send(
                text_data=json.dumps(
                    {"type": "read", "thread": notice["thread"], "seq": notice["seq"]}
                )
            )
        elif kind == "access_reduced":
            await self._recheck_access()
        elif kind == "signed_out" and notice.get("session") == self.session_tag:
            await self._end_access("You signed out.", code="signed_out")
        elif kind == "notification":
            await self.send(
                text_data=json.dumps({"type": "notification", **notice["notification"]})
            )

    async def _recheck_access(self) -> None:
        """Drop at once every thread the user may no longer read, and the presence of
        accounts out of reach; close if access ended. Live events that arrive meanwhile wait,
        and go out afterwards only if they still may."""
        self._held = []
        try:
            ended = await self._recheck()
        finally:
            held, self._held = self._held, None
        if ended:
            return
        groups = self.hub.groups_of.get(self, set())
        for message in held:
            if message.get("group") in groups:
                await self.hub_message(message)

    async def _recheck(self) -> bool:
        stamp = await access.stamp_of(self.user.pk)
        candidates = set(self.subscriptions) | {key[0] for key in self.access.threads.values()}

        def recheck() -> tuple[User, set[int], list[int] | None]:
            user = _fresh_user(self.user.pk)
            still = selectors.visible_thread_ids(user, candidates)
            watched = selectors.presence_watched_account_ids(user) if self.presence_watch else None
            return user, still, watched

        try:
            self.user, still, watched = await db(recheck)()
        except NotFound as problem:
            await self._end_access(problem.message)
            return True
        self.access.reset(stamp, keep=still)
        for pk in set(self.subscriptions) - still:
            subscription = self.subscriptions.pop(pk)
            await self.hub.leave(events.thread_group(pk), self)
            await self.send(
                text_data=json.dumps(
                    {"type": "thread.removed", "thread": subscription.thread.public_id}
                )
            )
        if watched is not None:
            await self._watch_accounts(watched)
        return False
