"""The portal's one WebSocket per browser tab (``docs/protocol.md``).

Thin: each frame is validated here and handed to one service or selector through
``database_sync_to_async``; permission rules live in ``accounts.permissions`` and every
handler re-loads the user, so a deactivated or revoked user's next frame is refused even if
the push announcing it was lost. Live events arrive through the process hub
(``messaging.hub``) already encoded and are sent as they are.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from accounts.errors import AtriumError, Invalid, NotFound
from accounts.models import User
from messaging import events, notifications, presence, protocol, ratelimit, selectors, services
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
        self.presence_watch = False
        await self.accept()
        await self.hub.join(events.user_group(user.pk), self)
        # Counted as present before the greeting, so that whatever the client does after
        # hello sees this socket's presence.
        await self._presence_changed(
            lambda: presence.store().put(user.pk, self.socket_id, presence.ONLINE)
        )
        hello = await database_sync_to_async(protocol.hello_frame)(user)
        await self.send(text_data=json.dumps(hello))
        self.hub.renewals.add(self)

    closing = False

    async def websocket_disconnect(self, message: dict) -> None:
        self.closing = True
        await super().websocket_disconnect(message)

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "hub"):
            self.hub.renewals.discard(self)
            await self.hub.leave_all(self)
            await self._presence_changed(
                lambda: presence.store().drop(self.user.pk, self.socket_id)
            )

    # --- presence ---------------------------------------------------------------------------

    async def _presence_changed(self, change: Callable[[], Awaitable[None]]) -> None:
        """Apply a change to this socket's presence entry and, if the person's overall status
        changed, tell everyone who may see it (on every worker)."""
        store = presence.store()
        before = (await store.statuses([self.user.pk]))[self.user.pk]
        await change()
        after = (await store.statuses([self.user.pk]))[self.user.pk]
        if after != before:
            audience = await database_sync_to_async(selectors.presence_audience)(self.user)
            await events.apublish_user_notices(
                user_ids=audience,
                notice={"kind": "presence", "user": self.user.public_id, "status": after},
            )

    async def presence_renew(self) -> None:
        await presence.store().put(self.user.pk, self.socket_id, self.presence_status)

    async def on_presence_subscribe(self, frame: dict) -> None:
        """Start receiving the presence of the people this user may see: a snapshot now,
        then changes as they happen."""
        self.presence_watch = True
        people = await database_sync_to_async(lambda: selectors.visible_people(self._actor()))()
        statuses = await presence.store().statuses([p.pk for p in people])
        users = [
            {"id": p.public_id, "name": p.name, "initials": p.initials, "status": statuses[p.pk]}
            for p in people
        ]
        await self._reply({"type": "presence", "users": users}, frame)

    async def on_presence_set(self, frame: dict) -> None:
        status = frame.get("status")
        if status not in presence.STATUSES:
            raise FrameError("'status' must be 'online' or 'away'.", fields={"status": "type"})
        self.presence_status = status
        await self._presence_changed(
            lambda: presence.store().put(self.user.pk, self.socket_id, status)
        )
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
        await self.hub.leave_all(self)
        await self._error(code, message, ref)
        await self.close(code=CLOSE_ACCESS_ENDED)

    async def _drop_thread(self, thread_id: str) -> None:
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
        await database_sync_to_async(self._actor)()
        await self._reply({"type": "pong"}, frame)

    async def on_subscribe(self, frame: dict) -> None:
        thread_id = _str_field(frame, "thread")
        after = _int_field(frame, "after", default=0)
        thread = await database_sync_to_async(self._readable_thread)(thread_id)
        # A position beyond the end would silently swallow the next live events.
        subscription = Subscription(thread=thread, last_sent=min(after, thread.last_seq))
        self.subscriptions[thread.pk] = subscription
        # Join first, buffering live events, then replay from the database: nothing falls in
        # between, and anything buffered that the replay already sent is dropped by seq.
        await self.hub.join(events.thread_group(thread.pk), self)
        await self._catch_up(subscription)
        await self._reply(
            {"type": "subscribed", "thread": thread.public_id, "last_seq": subscription.last_sent},
            frame,
        )
        await self._flush_pending(subscription)

    async def on_unsubscribe(self, frame: dict) -> None:
        thread_id = _str_field(frame, "thread")
        await self._drop_thread(thread_id)
        await self._reply({"type": "unsubscribed", "thread": thread_id}, frame)

    async def on_message_send(self, frame: dict) -> None:
        thread_id = _str_field(frame, "thread")
        raw_client_id = _str_field(frame, "client_id", max_length=64)
        try:
            client_id = uuid.UUID(raw_client_id)
        except ValueError:
            raise FrameError("'client_id' must be a UUID.", fields={"client_id": "type"}) from None
        body = frame.get("body")
        result = await database_sync_to_async(self._send_message)(thread_id, client_id, body)
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
        seq = await database_sync_to_async(self._limited(services.message_edit))(
            message_id=message_id, body=body
        )
        await self._reply(
            {"type": "ok", "for": "message.edit", "id": message_id, "seq": seq}, frame
        )

    async def on_message_delete(self, frame: dict) -> None:
        message_id = _str_field(frame, "id")
        seq = await database_sync_to_async(self._as_actor(services.message_delete))(
            message_id=message_id
        )
        await self._reply(
            {"type": "ok", "for": "message.delete", "id": message_id, "seq": seq}, frame
        )

    async def on_read(self, frame: dict) -> None:
        thread_id = _str_field(frame, "thread")
        seq = _int_field(frame, "seq")
        position = await database_sync_to_async(self._as_actor(services.read_mark))(
            thread_id=thread_id, seq=seq
        )
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
        thread = await database_sync_to_async(self._readable_thread)(thread_id)
        subscription.last_typing = now
        text = services.typing_frame(actor=self.user, thread=thread)
        await events.publish_ephemeral(
            thread_id=subscription.thread.pk, frame=text, sender_id=self.user.pk
        )

    async def on_history(self, frame: dict) -> None:
        thread_id = _str_field(frame, "thread")
        limit = min(_int_field(frame, "limit", default=50), selectors.HISTORY_LIMIT) or 1
        before = frame.get("before")
        thread = await database_sync_to_async(self._readable_thread)(thread_id)
        before = thread.last_seq + 1 if before is None else _int_field(frame, "before")
        rows = await database_sync_to_async(selectors.events_before)(thread, before, limit + 1)
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
        items = await database_sync_to_async(
            lambda: notifications.notifications_for(self._actor())
        )()
        unread = sum(1 for n in items if not n["read"])
        await self._reply(
            {"type": "notifications", "notifications": items, "unread": unread}, frame
        )

    async def on_notification_read(self, frame: dict) -> None:
        ids = frame.get("ids")
        changed = await database_sync_to_async(
            self._as_actor(notifications.notifications_mark_read)
        )(ids=ids)
        await self._reply({"type": "ok", "for": "notification.read", "changed": changed}, frame)

    async def on_thread_mute(self, frame: dict) -> None:
        thread_id = _str_field(frame, "thread")
        muted = frame.get("muted", True)
        if not isinstance(muted, bool):
            raise FrameError("'muted' must be true or false.", fields={"muted": "type"})

        def mute() -> None:
            actor = self._actor()
            notifications.thread_mute(
                actor=actor, thread=services.thread_for(actor, thread_id), muted=muted
            )

        await database_sync_to_async(mute)()
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

    # --- synchronous halves (run on the database thread) ------------------------------------

    def _actor(self) -> User:
        self.user = _fresh_user(self.user.pk)
        return self.user

    def _as_actor(self, service: Callable) -> Callable:
        def call(**kwargs):
            return service(actor=self._actor(), **kwargs)

        return call

    def _limited(self, service: Callable) -> Callable:
        def call(**kwargs):
            actor = self._actor()
            if not ratelimit.allow(user_id=actor.pk, action="message"):
                raise Invalid("You are sending too fast; wait a moment.", code="rate_limited")
            return service(actor=actor, **kwargs)

        return call

    def _readable_thread(self, thread_id: str) -> Thread:
        return services.thread_for(self._actor(), thread_id)

    def _send_message(self, thread_id: str, client_id: uuid.UUID, body) -> services.SendResult:
        return self._limited(services.message_send)(
            thread_id=thread_id, client_id=client_id, body=body
        )

    # --- live events from the hub ----------------------------------------------------------

    async def hub_message(self, message: dict) -> None:
        kind = message["type"]
        if kind == "hub.thread_event":
            await self._live_event(message["thread"], message["seq"], message["frame"])
        elif kind == "hub.ephemeral":
            if message["thread"] in self.subscriptions and message["sender"] != self.user.pk:
                await self.send(text_data=message["frame"])
        elif kind == "hub.user_notice":
            await self._user_notice(message["notice"])

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
            rows = await database_sync_to_async(selectors.events_after)(
                subscription.thread, subscription.last_sent
            )
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
        elif kind == "presence" and self.presence_watch:
            await self.send(
                text_data=json.dumps(
                    {
                        "type": "presence",
                        "users": [{"id": notice["user"], "status": notice["status"]}],
                    }
                )
            )

    async def _recheck_access(self) -> None:
        """Drop at once every thread the user may no longer read; close if access ended."""
        try:
            user = await database_sync_to_async(_fresh_user)(self.user.pk)
        except NotFound as problem:
            await self._end_access(problem.message)
            return
        self.user = user
        still = await database_sync_to_async(selectors.visible_thread_ids)(
            user, set(self.subscriptions)
        )
        for pk in set(self.subscriptions) - still:
            subscription = self.subscriptions.pop(pk)
            await self.hub.leave(events.thread_group(pk), self)
            await self.send(
                text_data=json.dumps(
                    {"type": "thread.removed", "thread": subscription.thread.public_id}
                )
            )
