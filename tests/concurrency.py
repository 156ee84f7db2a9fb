"""Running calls at the same moment, for the tests of what two requests racing each other
leave behind (PostgreSQL only: SQLite has one writer at a time)."""

from __future__ import annotations

import threading

from django.db import connection


def at_once(*calls) -> list[object]:
    """Run each call in its own thread (and database connection), released together; the
    result of each, or the exception it raised."""
    start = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(position: int) -> None:
        try:
            start.wait()
            results[position] = calls[position]()
        except BaseException as error:
            results[position] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
