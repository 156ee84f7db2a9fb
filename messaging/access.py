"""What a socket may read, remembered between frames, and how it learns that it changed.

Asking ``accounts.permissions`` costs several queries, so a socket asks once per thread and
remembers the answers (and the user) in an ``AccessCache``. A socket is also bound to the
session it was opened with: it ends when that session does (signed out, deleted, expired,
or invalidated by a new password, whose hash no longer matches the one stored in it).

Three ways tell a socket that its answers may be wrong, from the fastest to the surest:

- The push. Whatever reduces someone's access, by any path that goes through the ORM in any
  process (``accounts.access_log``), ends in the ``access_reduced`` signal once it commits:
  that first writes a new *access stamp* for the user, then pushes a notice to their sockets
  on every worker that hears it (Redis, or this process's own layer).
- The log. The same change is noted in the access-change log inside its transaction; every
  worker with sockets reads the recent notes every ``POLL_SECONDS`` (one small query) and
  re-checks the sockets of the people named. That is what reaches a worker the push cannot
  reach (a shell or another process on the in-memory layer) within a second.
- The clock. Each socket's answers hold for at most ``MAX_AGE_SECONDS`` (each socket picks
  its own moment within that, so that sockets opened together do not all ask at once), and
  its session until its expiry date; the worker re-checks sockets whose time is up, so a
  change made behind the application's back (raw SQL) is noticed within 30 seconds.

Every frame reads the user's stamp (one Redis GET with ``REDIS_URL``, a dictionary lookup in
the single-process default) and compares it with the stamp its answers were computed under:
a different stamp, answers too old or a session past its expiry send that frame to the
database first. Re-checking re-loads the user, verifies the session and asks, in one query,
which of the remembered threads the user may still read. When the stamp cannot be read
(Redis away), every frame confirms: slower, never less strict.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from importlib import import_module
from typing import Protocol

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from accounts import access_log
from accounts.models import User
from messaging import redis_clients
from messaging.database import db

# Remembered answers are confirmed again after 60 to 100 % of this (picked per socket); with
# the worker's poll on top, a change made around the application shows within 30 s.
MAX_AGE_SECONDS = 25.0
# How often a worker with sockets reads the access-change log and looks for sockets due.
POLL_SECONDS = 0.5
# How often a worker prunes old notes from the log.
PRUNE_SECONDS = 300.0
STAMP_TTL_SECONDS = 7 * 24 * 3600
# Stands for "could not read the stamp": equal to no stamp, so every frame confirms.
UNREADABLE = object()

log = logging.getLogger(__name__)

_local_stamps: dict[int, str] = {}


def _key(user_id: int) -> str:
    return f"atrium:access:{user_id}"


def stamps_bump(user_ids) -> None:
    """Record that these users' access was reduced (synchronous: runs after the commit)."""
    user_ids = list(user_ids)
    if not user_ids:
        return
    if not redis_clients.configured():
        for user_id in user_ids:
            _local_stamps[user_id] = uuid.uuid4().hex
        return
    with redis_clients.sync_client().pipeline(transaction=False) as pipe:
        for user_id in user_ids:
            pipe.set(_key(user_id), uuid.uuid4().hex, ex=STAMP_TTL_SECONDS)
        pipe.execute()


async def stamp_of(user_id: int):
    """The user's current stamp (None if their access was never reduced; ``UNREADABLE`` if
    it cannot be read now)."""
    if not redis_clients.configured():
        return _local_stamps.get(user_id)
    try:
        value = await redis_clients.async_client().get(_key(user_id))
    except Exception as problem:
        log.warning("access stamp of %s unreadable: %s", user_id, problem)
        return UNREADABLE
    return value.decode() if value is not None else None


@dataclass
class AccessCache:
    """One socket's remembered answers: the threads (by public id) it may read, each as
    ``(pk, account_id, privileged)``, valid while the user's stamp is ``stamp`` and for
    ``max_age`` seconds."""

    stamp: object = None
    checked_at: float = field(default_factory=time.monotonic)
    max_age: float = MAX_AGE_SECONDS
    threads: dict[str, tuple[int, int, bool]] = field(default_factory=dict)

    def valid(self, stamp: object) -> bool:
        return stamp is not UNREADABLE and stamp == self.stamp and not self.expired()

    def expired(self, now: float | None = None) -> bool:
        """Whether the answers are too old to trust (``now``: ``time.monotonic()``)."""
        return (time.monotonic() if now is None else now) - self.checked_at >= self.max_age

    def expire(self) -> None:
        """Trust nothing remembered any more: the next frame, and the worker's next round,
        ask the database."""
        self.checked_at = float("-inf")

    def reset(self, stamp: object, keep: set[int] | None = None) -> None:
        """Start again under ``stamp``, remembering only the threads (by primary key) in
        ``keep``."""
        self.stamp = stamp
        self.checked_at = time.monotonic()
        self.max_age = MAX_AGE_SECONDS * random.uniform(0.6, 1.0)  # noqa: S311 - spread only
        if keep is None:
            self.threads.clear()
        else:
            self.threads = {k: v for k, v in self.threads.items() if v[0] in keep}


def session_expiry(user: User, session_key: str | None) -> float | None:
    """When the session ``session_key`` ends (a ``time.time()`` value), or None if it has
    ended: deleted, expired, not ``user``'s, or invalidated by a password change (its stored
    hash matches neither ``user.get_session_auth_hash()`` nor a fallback secret's, as
    ``django.contrib.auth.get_user`` decides). One query with a database-backed session
    engine. Runs on a database thread."""
    if not session_key:
        return None
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    if hasattr(store, "get_model_class"):
        row = (
            store.get_model_class()
            .objects.filter(session_key=session_key, expire_date__gt=timezone.now())
            .values_list("session_data", "expire_date")
            .first()
        )
        if row is None:
            return None
        data, expires = store.decode(row[0]), row[1]
    else:
        data = store.load()
        if not data:
            return None
        expires = store.get_expiry_date()
    if data.get(SESSION_KEY) != user._meta.pk.value_to_string(user):
        return None
    stored = data.get(HASH_SESSION_KEY)
    if not stored:
        return None
    if not constant_time_compare(stored, user.get_session_auth_hash()) and not any(
        constant_time_compare(stored, fallback)
        for fallback in user.get_session_auth_fallback_hash()
    ):
        return None
    return expires.timestamp()


class Watched(Protocol):
    """An open socket, as the worker's ``AccessWatch`` sees it."""

    def watched_user(self) -> int: ...

    def access_due(self, now: float, wall: float) -> bool:
        """Whether its answers or its session are past their time (``now``:
        ``time.monotonic()``, ``wall``: ``time.time()``)."""

    def access_changed(self) -> None:
        """Re-check soon (without waiting here); live events wait for the answer."""


class AccessWatch:
    """One worker's open sockets by user, and the loop that re-checks them: those of the
    people named in the access-change log, and those whose answers or session are due."""

    def __init__(self) -> None:
        self.sockets: dict[int, set[Watched]] = defaultdict(set)
        self._seen: set[int] = set()
        self._failing = False
        self._next_prune = time.monotonic() + PRUNE_SECONDS * random.random()  # noqa: S311

    def add(self, socket: Watched) -> None:
        self.sockets[socket.watched_user()].add(socket)

    def discard(self, socket: Watched) -> None:
        user_id = socket.watched_user()
        mine = self.sockets.get(user_id)
        if mine is not None:
            mine.discard(socket)
            if not mine:
                del self.sockets[user_id]

    async def run(self) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            if not self.sockets:
                continue
            try:
                await self.round()
            except Exception:
                # One bad round must not end the watch for the whole worker.
                log.exception("the access watch's round failed")

    async def round(self) -> None:
        """Read the log once, re-check whom it names, then whoever is due."""
        for user_id in await self._changed_users():
            for socket in list(self.sockets.get(user_id, ())):
                socket.access_changed()
        now, wall = time.monotonic(), time.time()
        for sockets in list(self.sockets.values()):
            for socket in list(sockets):
                if socket.access_due(now, wall):
                    socket.access_changed()
        if now >= self._next_prune:
            self._next_prune = now + PRUNE_SECONDS
            try:
                await db(access_log.prune)()
            except Exception:
                log.exception("pruning the access-change log failed")

    async def _changed_users(self) -> set[int]:
        try:
            notes = await db(access_log.recent_changes)()
        except Exception as problem:
            # Once per outage: sockets still get pushes, and the clock re-checks them.
            if not self._failing:
                log.warning("the access-change log is unreadable: %s", problem)
            self._failing = True
            return set()
        if self._failing:
            log.info("the access-change log is readable again")
            self._failing = False
        users = {user_id for note_id, user_id in notes if note_id not in self._seen}
        self._seen = {note_id for note_id, _ in notes}
        return users
