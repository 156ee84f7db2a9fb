"""Notifications over the socket: the notifications list, marking them read, and muting a
thread's notifications."""

from __future__ import annotations

from messaging import notifications
from messaging.consumers.frames import FrameError, str_field
from messaging.database import db


class NotificationsMixin:
    """Notification frames of ``PortalConsumer``; uses its ``user``."""

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
        thread_id = str_field(frame, "thread")
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
