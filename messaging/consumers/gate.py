"""The socket's access gate: the check before every frame, the threads a socket remembers it
may read, the per-user send limit, the re-check when a push says access was reduced, and
closing the socket once access has ended."""

from __future__ import annotations

import asyncio
import json

from accounts.errors import Invalid, NotFound
from accounts.models import User
from messaging import access, events, ratelimit, selectors, services
from messaging.database import db
from messaging.models import Thread

CLOSE_ACCESS_ENDED = 4403


def thread_key(thread: Thread) -> tuple[int, int, bool]:
    """What a socket remembers of a thread it may read (small: an idle socket stays cheap)."""
    return (thread.pk, thread.account_id, thread.privileged)


def fresh_user(user_id: int) -> User:
    """The connected user as the database has them now; NotFound once deactivated."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise NotFound("Your access has ended.", code="access_ended")
    return user


class AccessGateMixin:
    """Access checks of ``PortalConsumer``; uses its ``user``, ``access``, ``hub`` and
    ``subscriptions``."""

    _held: list[dict] | None = None

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
            user = fresh_user(self.user.pk)
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
        self.access.threads[thread_id] = thread_key(thread)
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
            user = fresh_user(self.user.pk)
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
