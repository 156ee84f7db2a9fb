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
  its own moment within that, so that sockets opened together do not all come due at once),
  and its session until its expiry date. Every ``SWEEP_SECONDS`` the worker takes the sockets
  whose time is up and, in a fixed handful of queries for all of them together, reads what
  their answers were computed from: each user's *access fingerprint* (``accounts.selectors.
  access_fingerprints``: the user row, memberships, team places, groups, the grants that
  open accounts and threads), the remembered threads as stored, and each socket's session.
  A socket whose fingerprint, threads and session are as they were at its last full check is
  confirmed as it is; only the others are re-checked in full. So a change made behind the
  application's back (raw SQL) is noticed within 30 seconds, and an idle socket costs a
  share of a few queries every 25 seconds, not a re-check of its own.

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
from accounts.selectors import AccessFacts, access_fingerprints
from messaging import redis_clients, selectors
from messaging.database import db
from messaging.models import Thread

# Remembered answers are confirmed again after 60 to 100 % of this (picked per socket); with
# the worker's poll on top, a change made around the application shows within 30 s.
MAX_AGE_SECONDS = 25.0
# How often a worker with sockets reads the access-change log and looks for sockets due.
POLL_SECONDS = 0.5
# How often a worker confirms, together, the sockets whose answers are due (the sweep).
SWEEP_SECONDS = 2.0
# At most this many sockets are confirmed by one set of queries (a list of ids per query).
SWEEP_BATCH = 1000
# How often a worker prunes old notes from the log.
PRUNE_SECONDS = 300.0
STAMP_TTL_SECONDS = 7 * 24 * 3600
# Stands for "could not read the stamp": equal to no stamp, so every frame confirms.
UNREADABLE = object()

log = logging.getLogger(__name__)

_local_stamps: dict[int, str] = {}
_stamps_unreadable = False  # Redis did not answer the last read (logged once)


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
    global _stamps_unreadable
    try:
        value = await redis_clients.async_client().get(_key(user_id))
    except Exception as problem:
        # One line per outage, not one per frame: every frame confirms meanwhile.
        if not _stamps_unreadable:
            log.warning("access stamps unreadable, every frame confirms: %s", problem)
        _stamps_unreadable = True
        return UNREADABLE
    if _stamps_unreadable:
        _stamps_unreadable = False
        log.info("access stamps readable again")
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
    # The user's access fingerprint read just before the check that gave every remembered
    # answer; None when unknown (a thread remembered since, a failed re-check), and then
    # only a full re-check may confirm the answers.
    facts: str | None = None

    def valid(self, stamp: object) -> bool:
        return stamp is not UNREADABLE and stamp == self.stamp and not self.expired()

    def expired(self, now: float | None = None) -> bool:
        """Whether the answers are too old to trust (``now``: ``time.monotonic()``)."""
        return (time.monotonic() if now is None else now) - self.checked_at >= self.max_age

    def expire(self) -> None:
        """Trust nothing remembered any more: the next frame, and the worker's next round,
        ask the database."""
        self.checked_at = float("-inf")
        self.facts = None

    def confirm(self, at: float) -> None:
        """The answers hold as of ``at`` (``time.monotonic()``): the sweep found what they
        were computed from unchanged."""
        self.checked_at = at
        self.max_age = MAX_AGE_SECONDS * random.uniform(0.6, 1.0)  # noqa: S311 - spread only

    def reset(self, stamp: object, keep: set[int] | None = None) -> None:
        """Start again under ``stamp``, remembering only the threads (by primary key) in
        ``keep`` (``facts`` stays: dropping answers never needs a new fingerprint)."""
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
    return session_expiries({(session_key, user.pk): user}).get((session_key, user.pk))


def session_expiries(wanted: dict[tuple[str, int], User]) -> dict[tuple[str, int], float]:
    """``session_expiry`` of many sessions, each ``(session_key, user_id)`` with the user as
    stored (its password is what the session's hash is checked against), in one query with a
    database-backed session engine; the sessions that have ended are missing from the
    answer."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    answer: dict[tuple[str, int], float] = {}
    if hasattr(store, "get_model_class"):
        users_of: dict[str, list[User]] = defaultdict(list)
        for (session_key, _), user in wanted.items():
            if session_key:
                users_of[session_key].append(user)
        if not users_of:
            return answer
        rows = (
            store.get_model_class()
            .objects.filter(session_key__in=list(users_of), expire_date__gt=timezone.now())
            .values_list("session_key", "session_data", "expire_date")
        )
        for session_key, data, expires in rows:
            decoded = store.decode(data)
            for user in users_of[session_key]:
                if _signs_in(decoded, user):
                    answer[(session_key, user.pk)] = expires.timestamp()
        return answer
    for (session_key, user_id), user in wanted.items():
        if not session_key:
            continue
        store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
        data = store.load()
        if data and _signs_in(data, user):
            answer[(session_key, user_id)] = store.get_expiry_date().timestamp()
    return answer


def _signs_in(data: dict, user: User) -> bool:
    """Whether a session's data signs ``user`` in now."""
    if data.get(SESSION_KEY) != user._meta.pk.value_to_string(user):
        return False
    stored = data.get(HASH_SESSION_KEY)
    if not stored:
        return False
    return constant_time_compare(stored, user.get_session_auth_hash()) or any(
        constant_time_compare(stored, fallback)
        for fallback in user.get_session_auth_fallback_hash()
    )


def facts_of(user_id: int) -> AccessFacts | None:
    """The user's access fingerprint now, and their row (None if the user is gone): read it
    before a check whose answers a socket is to remember, and keep the fingerprint with them
    (``AccessCache.facts``). Six queries. Runs on a database thread."""
    return access_fingerprints([user_id], (Thread,)).get(user_id)


@dataclass(frozen=True)
class Basis:
    """What one socket's remembered answers rest on: its user's fingerprint at its last full
    check, the threads it remembers (``consumers.gate.thread_key``), its session, and when the
    answers were last confirmed (so that a check made meanwhile is not confirmed over)."""

    user_id: int
    session_key: str | None
    facts: str
    threads: frozenset[tuple[int, int, bool]]
    checked_at: float


def still_holds(bases: list[Basis]) -> list[float | None]:
    """For each basis, in order: the session's expiry (``time.time()``) if the fingerprint,
    the threads and the session are as they were, else None (re-check in full). A fixed
    number of queries (eight with database sessions) whatever the number of bases. Runs on a
    database thread."""
    facts = access_fingerprints({basis.user_id for basis in bases}, (Thread,))
    threads = selectors.thread_keys({key[0] for basis in bases for key in basis.threads})
    wanted = {
        (basis.session_key, basis.user_id): facts[basis.user_id].user
        for basis in bases
        if basis.user_id in facts and basis.session_key
    }
    sessions = session_expiries(wanted)
    answer: list[float | None] = []
    for basis in bases:
        now = facts.get(basis.user_id)
        same = now is not None and now.fingerprint == basis.facts
        if same and all(threads.get(key[0]) == key for key in basis.threads):
            answer.append(sessions.get((basis.session_key, basis.user_id)))
        else:
            answer.append(None)
    return answer


class Watched(Protocol):
    """An open socket, as the worker's ``AccessWatch`` sees it."""

    def watched_user(self) -> int: ...

    def access_due(self, now: float, wall: float) -> bool:
        """Whether its answers or its session are past their time (``now``:
        ``time.monotonic()``, ``wall``: ``time.time()``)."""

    def access_basis(self, wall: float) -> Basis | None:
        """What its answers rest on, for the sweep to compare; None when only a full
        re-check will do (no fingerprint, or the session past its expiry)."""

    def access_confirmed(self, basis: Basis, session_expires: float, at: float) -> None:
        """The sweep found ``basis`` unchanged as of ``at``: trust the answers again (unless
        the socket checked or learned something since ``basis`` was taken)."""

    def access_changed(self) -> None:
        """Re-check soon (without waiting here); live events wait for the answer."""


class AccessWatch:
    """One worker's open sockets by user, and the loop that re-checks them: those of the
    people named in the access-change log, and those whose answers or session are due."""

    def __init__(self) -> None:
        self.sockets: dict[int, set[Watched]] = defaultdict(set)
        self._seen: set[int] = set()
        self._failing = False
        self._sweep_failing = False
        self._next_sweep = time.monotonic() + SWEEP_SECONDS * random.random()  # noqa: S311
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
        """Read the log once, re-check whom it names, then the sockets due: at once those
        only a full re-check can confirm, every ``SWEEP_SECONDS`` the others (``sweep``)."""
        for user_id in await self._changed_users():
            for socket in list(self.sockets.get(user_id, ())):
                socket.access_changed()
        now, wall = time.monotonic(), time.time()
        sweep = now >= self._next_sweep
        due: list[tuple[Watched, Basis]] = []
        for sockets in list(self.sockets.values()):
            for socket in list(sockets):
                if not socket.access_due(now, wall):
                    continue
                basis = socket.access_basis(wall)
                if basis is None:
                    socket.access_changed()
                elif sweep:
                    due.append((socket, basis))
        if sweep:
            self._next_sweep = now + SWEEP_SECONDS
            for start in range(0, len(due), SWEEP_BATCH):
                await self.sweep(due[start : start + SWEEP_BATCH], now)
        if now >= self._next_prune:
            self._next_prune = now + PRUNE_SECONDS
            try:
                await db(access_log.prune)()
            except Exception:
                log.exception("pruning the access-change log failed")

    async def sweep(self, due: list[tuple[Watched, Basis]], at: float) -> None:
        """Confirm these sockets' answers as of ``at`` in one database call, and re-check in
        full only those whose basis changed. If the call fails, they stay due and the next
        sweep asks again (meanwhile a frame of theirs confirms on its own, as any frame past
        the time does); the failure is logged once, not once per socket."""
        if not due:
            return
        try:
            verdicts = await db(still_holds)([basis for _, basis in due])
        except Exception as problem:
            if not self._sweep_failing:
                log.warning("the access sweep cannot read the database: %r", problem)
            self._sweep_failing = True
            return
        if self._sweep_failing:
            log.info("the access sweep reads the database again")
            self._sweep_failing = False
        for (socket, basis), expires in zip(due, verdicts, strict=True):
            if expires is None:
                socket.access_changed()
            else:
                socket.access_confirmed(basis, expires, at)

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
