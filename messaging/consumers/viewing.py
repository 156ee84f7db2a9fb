"""Who is looking at a page right now (an approval request, a document): each socket
subscribed to a thread may say it shows one page about that thread; the thread's other
subscribers hear it, with who it is. Never stored, like typing: the browsers keep the list,
renew their own line every ``VIEWING_RENEW_SECONDS`` and forget a line that was not renewed
for ``VIEWING_EXPIRE_SECONDS`` (a socket of a worker that died says nothing more)."""

from __future__ import annotations

import hashlib
import time

from accounts.errors import NotFound
from accounts.ids import is_public_id
from messaging import events, services
from messaging.consumers.frames import FrameError, str_field
from messaging.consumers.threads import Subscription

VIEWING_RENEW_SECONDS = 30
VIEWING_EXPIRE_SECONDS = 75
# A socket's "here" is passed on at most this often per thread; extra ones are dropped
# silently (a browser answering a burst of newcomers says it once). "left" always passes.
VIEWING_INTERVAL_SECONDS = 1.0
HERE, LEFT = "here", "left"


class ViewingMixin:
    """The ``viewing`` frame of ``PortalConsumer``; uses its ``subscriptions``, ``user``,
    ``socket_id`` and ``_gate``."""

    async def on_viewing(self, frame: dict) -> None:
        thread_id = str_field(frame, "thread")
        page = str_field(frame, "page")
        if not is_public_id(page):
            raise FrameError(
                "'page' must be the id of what the page shows.", fields={"page": "type"}
            )
        state = frame.get("state", HERE)
        if state not in (HERE, LEFT):
            raise FrameError('\'state\' must be "here" or "left".', fields={"state": "type"})
        hello = frame.get("hello", False)
        if not isinstance(hello, bool):
            raise FrameError("'hello' must be true or false.", fields={"hello": "type"})
        subscription = next(
            (s for s in self.subscriptions.values() if s.thread.public_id == thread_id), None
        )
        if subscription is None:
            raise NotFound("Subscribe to the thread first.", code="not_subscribed")
        if state == LEFT:
            if subscription.viewing == page:
                await self._viewing_left([subscription])
            return
        now = time.monotonic()
        if (
            subscription.viewing == page
            and now - subscription.last_viewing < VIEWING_INTERVAL_SECONDS
        ):
            return
        # Checked like every frame: access may have ended and the notice been lost.
        await self._gate()
        if subscription.thread.pk not in self.subscriptions:
            return  # the check just removed the thread from this socket
        if subscription.viewing not in (None, page):
            await self._viewing_left([subscription])  # one page per thread and socket
        subscription.viewing, subscription.last_viewing = page, now
        await self._viewing_publish(subscription, HERE, hello=hello)

    async def _viewing_left(self, subscriptions: list[Subscription]) -> None:
        """Tell the others that this socket no longer shows its page in these threads (it
        left the page, unsubscribed, lost access or closed)."""
        for subscription in subscriptions:
            if subscription.viewing is None:
                continue
            await self._viewing_publish(subscription, LEFT, hello=False)
            subscription.viewing = None

    async def _viewing_publish(
        self, subscription: Subscription, state: str, *, hello: bool
    ) -> None:
        text = services.viewing_frame(
            actor=self.user,
            thread=subscription.thread,
            page=subscription.viewing,
            state=state,
            hello=hello,
            socket=hashlib.sha256(self.socket_id.encode()).hexdigest()[:16],
        )
        await events.publish_ephemeral(
            thread_id=subscription.thread.pk, frame=text, sender_id=self.user.pk
        )
