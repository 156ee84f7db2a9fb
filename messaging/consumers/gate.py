"""The socket's access gate: the check before every frame, the threads a socket remembers it
may read, the session it is bound to, the per-user send limit, the re-check when access may
have been reduced (a push, the worker's access-change log, or the clock: see
``messaging.access``), and closing the socket once access or the session has ended."""

from __future__ import annotations

import asyncio
import json
import logging
import time

from accounts.errors import Invalid, NotFound
from accounts.models import User
from messaging import access, events, ratelimit, selectors, services
from messaging.database import db
from messaging.models import Thread

CLOSE_ACCESS_ENDED = 4403
# The codes of the refusals that end the socket.
ENDING = frozenset({"access_ended", "signed_out"})
# After a re-check that could not reach the database, the worker tries again this much later.
RETRY_SECONDS = 5.0

log = logging.getLogger("messaging.consumers")


def thread_key(thread: Thread) -> tuple[int, int, bool]:
    """What a socket remembers of a thread it may read (small: an idle socket stays cheap)."""
    return (thread.pk, thread.account_id, thread.privileged)


def fresh_user(user_id: int) -> User:
    """The connected user as the database has them now; NotFound once deactivated."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise NotFound("Your access has ended.", code="access_ended")
    return user


def session_expiry(user: User, session_key: str | None) -> float:
    """When the socket's session ends (``time.time()``); NotFound ``signed_out`` if it has
    ended already (signed out, deleted, expired, or a new password since)."""
    expires = access.session_expiry(user, session_key)
    if expires is None:
        raise NotFound("Your session has ended; sign in again.", code="signed_out")
    return expires


class AccessGateMixin:
    """Access checks of ``PortalConsumer``; uses its ``user``, ``access``, ``hub``,
    ``session_key``, ``session_expires`` and ``subscriptions``."""

    # Live events that arrive while access is re-checked wait here (None: not re-checking).
    _held: list[dict] | None = None
    _recheck_task: asyncio.Task | None = None
    _recheck_again = False
    _releasing = False
    _retry_at = 0.0
    session_expires = 0.0
    # Set once the socket is ending: nothing more is checked or delivered.
    access_ended = False

    async def _gate(self, stamp: object = None, *, stamped: bool = False) -> None:
        """Before every frame: if the user's access may have been reduced since this socket
        last asked (or long enough ago), or its session is past its expiry, re-load the user,
        verify the session and keep only the remembered threads they may still read, in one
        database call; NotFound ``access_ended`` once deactivated, ``signed_out`` once the
        session has ended."""
        if not stamped:
            stamp = await access.stamp_of(self.user.pk)
        if self.access.valid(stamp) and time.time() < self.session_expires:
            return
        remembered = {key[0] for key in self.access.threads.values()}
        watching = self.presence_watch
        session_key = self.session_key

        def confirm() -> tuple[User, float, set[int], list[int] | None]:
            user = fresh_user(self.user.pk)
            expires = session_expiry(user, session_key)
            still = selectors.visible_thread_ids(user, remembered)
            watched = selectors.presence_watched_account_ids(user) if watching else None
            return user, expires, still, watched

        self.user, self.session_expires, still, watched = await db(confirm)()
        self.access.reset(stamp, keep=still)
        if watched is not None:
            await self._watch_accounts(watched)

    def _remember_facts(self) -> None:
        """Before a check made with ``self.user`` as it was loaded (the greeting): keep the
        user's access fingerprint with the answers, if the stored row is still the one the
        check is made with (otherwise the first sweep re-checks in full). Runs on a database
        thread."""
        facts = access.facts_of(self.user.pk)
        if facts is None:
            return
        stored, user = facts.user, self.user
        if (stored.is_active, stored.is_superuser, stored.firm_role, stored.password) == (
            user.is_active,
            user.is_superuser,
            user.firm_role,
            user.password,
        ):
            self.access.facts = facts.fingerprint

    def _thread(self, thread_id: str) -> Thread:
        """A thread the user may read (remembered, or asked of ``services.thread_for`` and
        remembered); NotFound otherwise. Runs on a database thread."""
        known = self.access.threads.get(thread_id)
        if known is not None:
            pk, account_id, privileged = known
            return Thread(id=pk, public_id=thread_id, account_id=account_id, privileged=privileged)
        # Answered under facts the remembered fingerprint may not describe: from now on only
        # a full re-check may confirm the answers (messaging.access). Forgotten before the
        # check, so that no sweep under way confirms over it.
        self.access.facts = None
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
        """The user was deactivated or the session ended: nothing more reaches this socket,
        and it closes."""
        if self.access_ended:
            return
        self.access_ended = True
        # Others stop seeing this person on a page at once; the socket is closing anyway.
        await self._viewing_left(list(self.subscriptions.values()))
        self.subscriptions.clear()
        self.presence_watch = False
        self.hub.access.discard(self)
        await self.hub.leave_all(self)
        await self._error(code, message, ref)
        await self.close(code=CLOSE_ACCESS_ENDED)

    async def _drop_thread(self, thread_id: str) -> None:
        self.access.threads.pop(thread_id, None)
        for pk, subscription in list(self.subscriptions.items()):
            if subscription.thread.public_id == thread_id:
                await self._viewing_left([subscription])
                del self.subscriptions[pk]
                await self.hub.leave(events.thread_group(pk), self)

    # --- re-checks, as the worker's access watch sees this socket (messaging.access) ----------

    def watched_user(self) -> int:
        return self.user.pk

    def access_due(self, now: float, wall: float) -> bool:
        if self._recheck_task is not None or now < self._retry_at:
            return False
        return wall >= self.session_expires or self.access.expired(now)

    def access_basis(self, wall: float) -> access.Basis | None:
        if self.access.facts is None or wall >= self.session_expires:
            return None
        threads = {*self.access.threads.values()}
        threads.update(thread_key(sub.thread) for sub in self.subscriptions.values())
        return access.Basis(
            user_id=self.user.pk,
            session_key=self.session_key,
            facts=self.access.facts,
            threads=frozenset(threads),
            checked_at=self.access.checked_at,
        )

    def access_confirmed(self, basis: access.Basis, session_expires: float, at: float) -> None:
        if self.closing or self.access_ended or self._recheck_task is not None:
            return
        if self.access_basis(time.time()) != basis:
            return  # checked, or told something new, since: not the sweep's to confirm
        self.session_expires = session_expires
        self.access.confirm(at)

    def access_changed(self) -> None:
        """Re-check this socket's access soon, in the background; from now until the answer,
        live events wait (``_held``). A change noticed during a re-check runs one more."""
        if self.closing or self.access_ended:
            return
        if self._recheck_task is not None:
            self._recheck_again = True
            return
        if self._held is None:
            self._held = []
        self._recheck_task = asyncio.create_task(self._recheck_access())

    async def _recheck_access(self) -> None:
        """Drop at once every thread the user may no longer read, and the presence of
        accounts out of reach; close if access or the session ended. Live events that arrive
        meanwhile wait, and go out afterwards only if they still may."""
        ended = True
        try:
            while True:
                self._recheck_again = False
                ended = await self._recheck()
                if ended or not self._recheck_again:
                    break
        except Exception as problem:
            if not (self.closing or self.access_ended):
                # Not confirmed, so not trusted: the next frame asks again, and the worker
                # after RETRY_SECONDS. What waited is dropped; the database keeps it, and
                # the client catches up by sequence number.
                log.warning("re-checking the access of %s failed: %r", self.user.public_id, problem)
                self.access.expire()
                self._retry_at = time.monotonic() + RETRY_SECONDS
        except asyncio.CancelledError:
            self._held = None  # the socket is going
            raise
        finally:
            self._recheck_task = None
        if ended:
            self._held = None
            return
        await self._release_held()

    async def _release_held(self) -> None:
        """Send what waited during the re-check, in order, if it may still go out. What
        arrives meanwhile queues behind it (``hub_message``), so a later event never
        overtakes an earlier one; a new re-check stops the sending until it is done."""
        if self._releasing:
            return
        self._releasing = True
        try:
            while self._held and self._recheck_task is None:
                message = self._held.pop(0)
                if message.get("group") in self.hub.groups_of.get(self, set()):
                    await self._deliver(message)
        finally:
            self._releasing = False
        if self._recheck_task is None:
            self._held = None

    async def _recheck(self) -> bool:
        stamp = await access.stamp_of(self.user.pk)
        candidates = set(self.subscriptions) | {key[0] for key in self.access.threads.values()}
        watching = self.presence_watch
        session_key = self.session_key

        def recheck() -> tuple[str | None, User, float, set[int], list[int] | None]:
            # Read first: a change made during the check shows as a different fingerprint
            # at the next sweep, never as one this check already saw.
            facts = access.facts_of(self.user.pk)
            user = fresh_user(self.user.pk)
            expires = session_expiry(user, session_key)
            still = selectors.visible_thread_ids(user, candidates)
            watched = selectors.presence_watched_account_ids(user) if watching else None
            return facts.fingerprint if facts else None, user, expires, still, watched

        try:
            facts, self.user, self.session_expires, still, watched = await db(recheck)()
        except NotFound as problem:
            await self._end_access(problem.message, code=problem.code)
            return True
        if self.closing:
            return True
        self.access.reset(stamp, keep=still)
        self.access.facts = facts
        for pk in set(self.subscriptions) - still:
            subscription = self.subscriptions.pop(pk)
            await self._viewing_left([subscription])
            await self.hub.leave(events.thread_group(pk), self)
            await self.send(
                text_data=json.dumps(
                    {"type": "thread.removed", "thread": subscription.thread.public_id}
                )
            )
        if watched is not None and self.presence_watch:
            await self._watch_accounts(watched)
        return False
