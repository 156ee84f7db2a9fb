"""What a socket may read, remembered between frames, and how it learns that it changed.

Asking ``accounts.permissions`` costs several queries, so a socket asks once per thread and
remembers the answers (and the user) in an ``AccessCache``. Whatever reduces someone's
access (the ``access_reduced`` signal of accounts: membership or team removed, role lowered,
deactivation, a privileged grant withdrawn) first writes a new *access stamp* for that user,
then pushes the notice. Every frame reads the user's stamp (one Redis GET with ``REDIS_URL``,
a dictionary lookup in the single-process default) and compares it with the stamp its
answers were computed under: a different stamp throws them all away, so the next frame after
a revocation is checked against the database even if the notice was lost. A user saved
inactive by any path (the admin included) gets a new stamp too. Whatever else changes around
the services (a grant deleted in the database by hand) is caught when the answers are
confirmed again, at most ``MAX_AGE_SECONDS`` later (each socket picks its own moment within
that, so that sockets opened together do not all ask at once).

Confirming re-loads the user and asks, in one query, which of the remembered threads the
user may still read. When the stamp cannot be read (Redis away), every frame confirms:
slower, never less strict.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from dataclasses import dataclass, field

from messaging import redis_clients

MAX_AGE_SECONDS = 120.0
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
        return (
            stamp is not UNREADABLE
            and stamp == self.stamp
            and time.monotonic() - self.checked_at < self.max_age
        )

    def reset(self, stamp: object, keep: set[int] | None = None) -> None:
        """Start again under ``stamp``, remembering only the threads (by primary key) in
        ``keep``."""
        self.stamp = stamp
        self.checked_at = time.monotonic()
        self.max_age = MAX_AGE_SECONDS * random.uniform(0.5, 1.0)  # noqa: S311 - spread only
        if keep is None:
            self.threads.clear()
        else:
            self.threads = {k: v for k, v in self.threads.items() if v[0] in keep}
