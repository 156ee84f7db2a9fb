"""What a participant does in a thread over the socket: send, edit and delete messages, mark
read, and the typing hint."""

from __future__ import annotations

import time
import uuid

from accounts.errors import NotFound
from messaging import events, selectors, services
from messaging.consumers.frames import FrameError, int_field, str_field
from messaging.database import db

TYPING_INTERVAL_SECONDS = 3.0


class MessagesMixin:
    """Message frames of ``PortalConsumer``; uses its ``user``, ``subscriptions`` and
    ``access``."""

    async def on_message_send(self, frame: dict) -> None:
        thread_id = str_field(frame, "thread")
        raw_client_id = str_field(frame, "client_id", max_length=64)
        try:
            client_id = uuid.UUID(raw_client_id)
        except ValueError:
            raise FrameError("'client_id' must be a UUID.", fields={"client_id": "type"}) from None
        body = frame.get("body")
        await self._limited()

        def send() -> services.SendResult:
            # Check (the socket's remembered answer, or the permission API), then do: the
            # service is handed the thread as stored, not the few fields the socket keeps.
            thread = selectors.thread_of(self._thread(thread_id).pk)
            return services.message_store(
                actor=self.user, thread=thread, client_id=client_id, body=body
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
        message_id = str_field(frame, "id")
        body = frame.get("body")
        await self._limited()
        seq = await db(services.message_edit)(actor=self.user, message_id=message_id, body=body)
        await self._reply(
            {"type": "ok", "for": "message.edit", "id": message_id, "seq": seq}, frame
        )

    async def on_message_delete(self, frame: dict) -> None:
        message_id = str_field(frame, "id")
        await self._gate()
        seq = await db(services.message_delete)(actor=self.user, message_id=message_id)
        await self._reply(
            {"type": "ok", "for": "message.delete", "id": message_id, "seq": seq}, frame
        )

    async def on_read(self, frame: dict) -> None:
        thread_id = str_field(frame, "thread")
        seq = int_field(frame, "seq")
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
        thread_id = str_field(frame, "thread")
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
