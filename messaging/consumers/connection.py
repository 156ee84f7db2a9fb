"""The consumer itself: the handshake and greeting, disconnect, inbound frame dispatch with
its error replies, and the dispatch of live events and user notices from the hub. The frame
handlers come from the subdomain mixins beside this module."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable

from channels.generic.websocket import AsyncWebsocketConsumer

from accounts.errors import AtriumError
from accounts.services import two_factor
from messaging import access, events, presence, protocol, selectors
from messaging.consumers.gate import ENDING, AccessGateMixin, session_expiry, thread_key
from messaging.consumers.messages import MessagesMixin
from messaging.consumers.notifications import NotificationsMixin
from messaging.consumers.presence import PresenceMixin
from messaging.consumers.threads import Subscription, ThreadsMixin
from messaging.consumers.viewing import ViewingMixin
from messaging.database import db
from messaging.hub import hub

# One logger for the whole socket, so its lines are filed under one name.
log = logging.getLogger("messaging.consumers")

# Frames of one socket waiting to be handled, beyond which the next ones are answered
# ``overloaded`` (with ``retry_after``) instead of queued.
INBOUND_LIMIT = 64
RETRY_AFTER_SECONDS = 2
# A socket with this many frames waiting is closed (1013, "try again later"): it sends far
# faster than even refusals can be answered. Other sockets are not affected.
INBOUND_CLOSE_LIMIT = 256
CLOSE_OVERLOADED = 1013
OVERLOAD_LOG_SECONDS = 10.0
_overload_logged_at = -OVERLOAD_LOG_SECONDS
# Frames that store something: refused while this worker is behind (``events.behind``), or
# while STORING_LIMIT of them are being handled on the worker (about half a second of
# database work): admitted or refused at once, so none waits for seconds behind others.
STORING = frozenset({"message.send", "message.edit", "message.delete"})
STORING_LIMIT = 64
_storing = 0


class PortalConsumer(
    AccessGateMixin,
    ThreadsMixin,
    MessagesMixin,
    PresenceMixin,
    NotificationsMixin,
    ViewingMixin,
    AsyncWebsocketConsumer,
):
    """One signed-in tab. Refuses anonymous and inactive users at the handshake."""

    # No channel-layer channel per socket: the process hub reads the layer once for all
    # sockets, which saves a blocking Redis read and its buffers per connection.
    channel_layer_alias = None

    closing = False
    _inbox: asyncio.Queue | None = None
    _shed = False
    _left = False  # the socket's registrations (hub, presence, viewing) are gone

    async def __call__(self, scope, receive, send):
        # The server's queue of this socket's inbound messages, to see how far behind the
        # socket is: Daphne and the test communicator hand over an asyncio.Queue's get,
        # Uvicorn the ``receive`` of its protocol, which reads the protocol's ``queue``.
        owner = getattr(receive, "__self__", None)
        queue = owner if isinstance(owner, asyncio.Queue) else getattr(owner, "queue", None)
        self._inbox = queue if isinstance(queue, asyncio.Queue) else None
        try:
            return await super().__call__(scope, receive, send)
        finally:
            # A consumer that ends without ``websocket.disconnect`` (a send to a client that
            # had gone raised out of a handler: channels#1466) still leaves its hub groups
            # and presence; after a disconnect this does nothing.
            if not self._left:
                await self.disconnect(1006)

    async def send(self, text_data=None, bytes_data=None, close=False) -> None:
        """Channels' send. One that fails means the client has gone (Uvicorn raises
        ``ClientDisconnected``): the socket leaves at once rather than waiting for a
        disconnect that a server may never deliver, and the hub stops handing it events."""
        try:
            await super().send(text_data=text_data, bytes_data=bytes_data, close=close)
        except Exception:
            self.closing = True
            if not self._left:
                await self.disconnect(1006)
            raise

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            log.info("websocket refused: no signed-in session")
            await self.close()
            return
        # The firm's two-factor rule holds here as on pages and the API.
        if await db(two_factor.gate)(user, self.scope["session"]) is not two_factor.Gate.OPEN:
            log.info("websocket refused: two-factor sign-in required of %s", user.public_id)
            await self.close()
            return
        self.user = user
        self.subscriptions: dict[int, Subscription] = {}
        self._tasks: set[asyncio.Task] = set()
        self.hub = hub()
        self.socket_id = uuid.uuid4().hex
        # The socket lives as long as this session does (messaging.access).
        self.session_key = self.scope["session"].session_key
        self.session_tag = events.session_tag(self.session_key)
        self.presence_status = presence.ONLINE
        self.presence_accounts: list[int] = []
        self.access = access.AccessCache()
        await self.accept()
        # The stamp is read before the database is: a reduction after this read shows up
        # as a new stamp at the next frame.
        stamp = await access.stamp_of(user.pk)
        # Counted as present before the greeting, so that whatever the client does after
        # hello sees this socket's presence. Telling others is not part of the handshake.
        _, (before, after), (hello, threads, accounts, expires) = await asyncio.gather(
            self.hub.join(events.user_group(user.pk), self),
            presence.store().change(user.pk, self.socket_id, presence.ONLINE),
            db(self._greeting)(),
        )
        self.access.reset(stamp)
        self.access.threads.update(threads)
        self.presence_accounts = accounts
        # A session that ended meanwhile (0) is re-checked, and the socket closed, at the
        # worker's next round.
        self.session_expires = expires
        await self.send(text_data=json.dumps(hello))
        self.hub.renewals.add(self)
        self.hub.access.add(self)
        self._announce(before, after)

    def _greeting(self) -> tuple[dict, dict[str, tuple[int, int, bool]], list[int], float]:
        self._remember_facts()
        summarised, notifications_unread = selectors.greeting(self.user)
        hello = protocol.hello_frame(
            self.user, [summary for _, summary in summarised], notifications_unread
        )
        threads = {thread.public_id: thread_key(thread) for thread, _ in summarised}
        try:
            expires = session_expiry(self.user, self.session_key)
        except AtriumError:
            expires = 0.0
        return hello, threads, selectors.presence_account_ids(self.user), expires

    async def websocket_disconnect(self, message: dict) -> None:
        self.closing = True
        await super().websocket_disconnect(message)

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "hub") and not self._left:
            self._left = True
            self.hub.renewals.discard(self)
            self.hub.access.discard(self)
            if self._recheck_task is not None:
                self._recheck_task.cancel()
            await self._viewing_left(list(self.subscriptions.values()))
            await self.hub.leave_all(self)
            before, after = await presence.store().change(self.user.pk, self.socket_id, None)
            self._announce(before, after)

    # --- inbound frames ---------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self._shed:
            return  # closed for overload: what was still queued is dropped
        if self._inbox is not None and self._inbox.qsize() >= INBOUND_CLOSE_LIMIT:
            self._log_overload("closing a socket of %s: %s frames waiting", self._inbox.qsize())
            self._shed = True
            await self.close(code=CLOSE_OVERLOADED)
            return
        frame, error = protocol.parse_frame(text_data, bytes_data)
        if error is not None:
            await self.send(text_data=json.dumps(error))
            return
        handler = self.HANDLERS.get(frame["type"])
        ref = frame.get("ref")
        if handler is None:
            await self._error("unknown_type", f"Unknown frame type {frame['type']!r}.", ref)
            return
        if self._overloaded(frame["type"]):
            self._log_overload("refusing frames of %s: overloaded", None)
            await self._refuse_overloaded(frame)
            return
        global _storing
        storing = frame["type"] in STORING
        if storing:
            _storing += 1
        try:
            await handler(self, frame)
        except AtriumError as problem:
            if problem.code in ENDING:
                await self._end_access(problem.message, ref, code=problem.code)
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
        finally:
            if storing:
                _storing -= 1

    def _overloaded(self, kind: str) -> bool:
        """More of this socket's frames are waiting than it may queue, or (for frames that
        store something) the worker is behind on delivering what it has acked."""
        if self._inbox is not None and self._inbox.qsize() >= INBOUND_LIMIT:
            return True
        return kind in STORING and (_storing >= STORING_LIMIT or events.behind())

    async def _refuse_overloaded(self, frame: dict) -> None:
        """Answered at once and not handled: the client sends it again after
        ``retry_after`` seconds (with the same ``client_id``, a send is stored once)."""
        ref = frame.get("ref")
        error = protocol.error_frame(
            "overloaded",
            "The server is busy; send this again in a moment.",
            ref=ref if ref is not None else frame.get("client_id"),
        )
        error["retry_after"] = RETRY_AFTER_SECONDS
        await self.send(text_data=json.dumps(error))

    def _log_overload(self, message: str, count: int | None) -> None:
        """At most one line per OVERLOAD_LOG_SECONDS for the worker, not one per frame."""
        global _overload_logged_at
        now = time.monotonic()
        if now - _overload_logged_at >= OVERLOAD_LOG_SECONDS:
            _overload_logged_at = now
            args = (self.user.public_id,) if count is None else (self.user.public_id, count)
            log.warning(message, *args)

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

    HANDLERS: dict[str, Callable[[PortalConsumer, dict], Awaitable[None]]] = {
        "ping": on_ping,
        "subscribe": ThreadsMixin.on_subscribe,
        "unsubscribe": ThreadsMixin.on_unsubscribe,
        "message.send": MessagesMixin.on_message_send,
        "message.edit": MessagesMixin.on_message_edit,
        "message.delete": MessagesMixin.on_message_delete,
        "read": MessagesMixin.on_read,
        "typing": MessagesMixin.on_typing,
        "history": ThreadsMixin.on_history,
        "presence.subscribe": PresenceMixin.on_presence_subscribe,
        "notifications": NotificationsMixin.on_notifications,
        "notification.read": NotificationsMixin.on_notification_read,
        "thread.mute": NotificationsMixin.on_thread_mute,
        "presence.set": PresenceMixin.on_presence_set,
        "viewing": ViewingMixin.on_viewing,
    }

    # --- live events from the hub ----------------------------------------------------------

    async def hub_message(self, message: dict) -> None:
        if self._held is not None and message["type"] != "hub.user_notice":
            # Access is being re-checked, or what waited meanwhile is going out: nothing
            # goes out until it is known what may, and then in the order it came.
            self._held.append(message)
            return
        await self._deliver(message)

    async def _deliver(self, message: dict) -> None:
        kind = message["type"]
        if kind == "hub.thread_event":
            await self._live_event(message["thread"], message["seq"], message["frame"])
        elif kind == "hub.ephemeral":
            if message["thread"] in self.subscriptions and message["sender"] != self.user.pk:
                await self.send(text_data=message["frame"])
        elif kind == "hub.user_notice":
            await self._user_notice(message["notice"])
        elif kind == "hub.presence":
            await self._presence_notice(message["notice"])
        elif kind == "hub.thread_position":
            self._thread_position(message["thread"], message["last_seq"])

    async def _user_notice(self, notice: dict) -> None:
        kind = notice.get("kind")
        if kind == "read":
            await self.send(
                text_data=json.dumps(
                    {"type": "read", "thread": notice["thread"], "seq": notice["seq"]}
                )
            )
        elif kind == "access_reduced":
            self.access_changed()
        elif kind == "signed_out" and notice.get("session") == self.session_tag:
            await self._end_access("You signed out.", code="signed_out")
        elif kind == "notification":
            await self.send(
                text_data=json.dumps({"type": "notification", **notice["notification"]})
            )
