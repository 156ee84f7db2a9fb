"""Where the WebSocket layer's database work runs.

``channels.db.database_sync_to_async`` is thread-sensitive: every ORM call of a Daphne
process runs on one thread, one after another, so one slow query stalls every socket of the
worker. Messaging's calls are independent of each other (each opens its own transaction and
hands its connection back to the pool afterwards), so they run on a small pool of threads
instead: as many as the PostgreSQL connection pool can serve next to the request thread.
SQLite writes take the database lock one at a time anyway; a few threads still let reads
go on meanwhile.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

from channels.db import DatabaseSyncToAsync
from django.conf import settings
from django.db import close_old_connections

P = ParamSpec("P")
R = TypeVar("R")

SQLITE_THREADS = 4

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def thread_count() -> int:
    pool = settings.DATABASES["default"].get("OPTIONS", {}).get("pool")
    if isinstance(pool, dict) and pool.get("max_size"):
        return max(1, int(pool["max_size"]) - 2)
    return SQLITE_THREADS


def _threads() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        with _executor_lock:
            if _executor is None:
                _executor = ThreadPoolExecutor(
                    max_workers=thread_count(), thread_name_prefix="messaging-db"
                )
    return _executor


def db(func: Callable[P, R]) -> Callable[P, Coroutine[Any, Any, R]]:
    """``func`` as a coroutine function that runs on the messaging database threads; like
    ``database_sync_to_async``, it closes stale connections before and after the call."""

    @functools.wraps(func)
    def closing(*args: P.args, **kwargs: P.kwargs) -> R:
        # Also here, inside the call's context: the connection the call opened is handed
        # back to the pool when it ends, not kept by an idle thread.
        close_old_connections()
        try:
            return func(*args, **kwargs)
        finally:
            close_old_connections()

    return DatabaseSyncToAsync(closing, thread_sensitive=False, executor=_threads())
