"""What the worker's timed access re-check costs with many idle sockets: each socket due
re-checked on its own (the way it was) against all the sockets due confirmed together (the
sweep, ``messaging.access``).

Run from the project root::

    .venv/bin/python -m bench.access_sweep                  # 1,000 sockets, 30 s per mode
    .venv/bin/python -m bench.access_sweep --sockets 200 --seconds 10
    .venv/bin/python -m bench.access_sweep --db-url postgres://postgres@127.0.0.1/atrium_bench

It makes its own database (a SQLite file in a temporary directory unless ``--db-url`` names
an existing, empty PostgreSQL database), migrates it and creates, through the services, client
accounts each with its General thread and a privileged thread granted to some of its
members, ``--users`` client members spread over them and one signed-in session per socket.
The sockets are the real access gate of ``PortalConsumer`` (``consumers.gate``) without a
network: each remembers the threads its user may read, as after ``hello``, and subscribes to
its account's General thread. Each socket's last check is placed at random within the
re-check period, as on a worker that has been up a while.

Then, one mode after the other, on the same sockets and with the real constants, the
worker's watch runs for ``--seconds``: the process's CPU time (every thread: with SQLite the
database's work is in this process too), the queries and the full re-checks, per second, the
oldest answers any socket held (sampled every second: the safety net's bound holds while this
stays under 30 s), and the ratio of the two modes. Nothing else runs in the process
meanwhile. The figures are those of a shared machine: compare the two modes of one run, not
runs with each other.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.django_setup import say, setup


def seed(users: int, sockets: int, per_account: int) -> list[tuple[object, str]]:
    """Accounts, members, grants and one session per socket: ``(user, session_key)``."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.hashers import make_password

    from accounts.models import ClientRole, User
    from accounts.services import client_accounts
    from messaging import services

    password = make_password("bench-password-not-used")
    people: list[User] = []
    for index in range(0, users, per_account):
        account = client_accounts.client_account_create(actor=None, name=f"Client {index}")
        walled = services.thread_create(
            actor=None, account=account, title="Privileged", privileged=True
        )
        for number in range(index, min(index + per_account, users)):
            person = User.objects.create(
                email=f"member{number}@bench.test", name=f"Member {number}", password=password
            )
            client_accounts.membership_add(
                actor=None, account=account, user=person, role=ClientRole.MEMBER
            )
            if number % 2 == 0:
                services.thread_grant(actor=None, thread=walled, user=person)
            people.append(person)
    opened = []
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    for index in range(sockets):
        person = people[index % len(people)]
        store = store_class()
        store[SESSION_KEY] = str(person.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = person.get_session_auth_hash()
        store.save()
        opened.append((person, store.session_key))
    return opened


def socket_class():
    from messaging.consumers.gate import AccessGateMixin

    class IdleSocket(AccessGateMixin):
        """A socket that sends nothing: the gate of ``PortalConsumer`` and what it uses."""

        closing = False
        presence_watch = False

        def __init__(self, user, session_key: str, hub) -> None:
            from messaging import access

            self.user, self.session_key, self.hub = user, session_key, hub
            self.access = access.AccessCache()
            self.subscriptions: dict = {}
            self.ended: str | None = None

        def open(self) -> None:
            """What ``connect`` does before ``hello``, on a database thread."""
            from messaging import selectors
            from messaging.consumers.gate import session_expiry, thread_key
            from messaging.consumers.threads import Subscription

            self._remember_facts()
            summarised = selectors.threads_summarised(self.user)
            self.access.threads.update({t.public_id: thread_key(t) for t, _ in summarised})
            self.session_expires = session_expiry(self.user, self.session_key)
            for thread, summary in summarised:
                if summary["general"]:
                    self.subscriptions[thread.pk] = Subscription(thread=thread, last_sent=0)

        async def send(self, text_data: str) -> None:
            pass

        async def close(self, code: int | None = None) -> None:
            pass

        async def _error(self, code: str, message: str, ref=None) -> None:
            self.ended = code

    return IdleSocket


class Hub:
    """What the gate asks of the hub when it drops a thread or ends a socket."""

    def __init__(self, watch) -> None:
        self.access = watch
        self.groups_of: dict = {}

    async def leave(self, group: str, socket) -> None:
        pass

    async def leave_all(self, socket) -> None:
        pass


def watches():
    from messaging import access

    class PerSocketWatch(access.AccessWatch):
        """The round as it was: every socket due re-checked in full on its own."""

        async def round(self) -> None:
            for user_id in await self._changed_users():
                for socket in list(self.sockets.get(user_id, ())):
                    socket.access_changed()
            now, wall = time.monotonic(), time.time()
            for sockets in list(self.sockets.values()):
                for socket in list(sockets):
                    if socket.access_due(now, wall):
                        socket.access_changed()

    return {"per-socket": PerSocketWatch, "sweep": access.AccessWatch}


class Counters:
    def __init__(self) -> None:
        self.queries = 0
        self.rechecks = 0

    def install(self) -> None:
        from django.db.backends.signals import connection_created

        from messaging import selectors

        def counted(execute, sql, params, many, context):
            self.queries += 1
            return execute(sql, params, many, context)

        def created(sender, connection, **kwargs) -> None:
            # Once per connection object (a thread's, re-opened for every call).
            if counted not in connection.execute_wrappers:
                connection.execute_wrappers.append(counted)

        connection_created.connect(created, weak=False)
        real = selectors.visible_thread_ids

        def recheck(user, thread_ids):
            self.rechecks += 1
            return real(user, thread_ids)

        selectors.visible_thread_ids = recheck


async def measure(mode: str, watch_class, opened, counters: Counters, seconds: float) -> dict:
    from messaging import access
    from messaging.database import db

    watch = watch_class()
    hub = Hub(watch)
    IdleSocket = socket_class()
    sockets = [IdleSocket(user, key, hub) for user, key in opened]
    started = time.monotonic()
    for start in range(0, len(sockets), 50):
        await asyncio.gather(*(db(socket.open)() for socket in sockets[start : start + 50]))
    say(f"[{mode}] opened {len(sockets)} sockets in {time.monotonic() - started:.1f} s")
    now = time.monotonic()
    for socket in sockets:
        # A worker up for a while: each socket's last check somewhere in its period.
        socket.access.checked_at = now - random.uniform(0, socket.access.max_age)
        watch.add(socket)
    runner = asyncio.create_task(watch.run())
    try:
        await asyncio.sleep(access.POLL_SECONDS * 2)
        cpu, wall = time.process_time(), time.monotonic()
        queries, rechecks = counters.queries, counters.rechecks
        oldest = 0.0
        while time.monotonic() - wall < seconds:
            await asyncio.sleep(1.0)
            now = time.monotonic()
            oldest = max(oldest, max(now - socket.access.checked_at for socket in sockets))
        cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        while any(socket._recheck_task is not None for socket in sockets):
            await asyncio.sleep(0.05)
    ended = sum(1 for socket in sockets if socket.ended)
    result = {
        "cpu_per_s": cpu / wall,
        "queries_per_s": (counters.queries - queries) / wall,
        "rechecks_per_s": (counters.rechecks - rechecks) / wall,
        "ended": ended,
        "oldest": oldest,
    }
    say(
        f"[{mode}] CPU {result['cpu_per_s']:.3f} s/s, {result['queries_per_s']:.1f} queries/s, "
        f"{result['rechecks_per_s']:.1f} full re-checks/s, oldest answers {oldest:.1f} s, "
        f"sockets ended: {ended}"
    )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--users", type=int, default=250)
    parser.add_argument("--per-account", type=int, default=10, help="members per account")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured, per mode")
    parser.add_argument("--db-url", help="an empty PostgreSQL database (default: SQLite)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="atrium-sweep-bench-"))
    try:
        setup(args.db_url, workdir)
        opened = seed(args.users, args.sockets, args.per_account)
        say(f"seeded {args.users} members, {args.sockets} sessions")
        counters = Counters()
        counters.install()
        results = {}
        for mode, watch_class in watches().items():
            results[mode] = asyncio.run(measure(mode, watch_class, opened, counters, args.seconds))
        old, new = results["per-socket"], results["sweep"]
        say(
            f"{args.sockets} idle sockets of {args.users} users: CPU per second "
            f"{old['cpu_per_s']:.3f} -> {new['cpu_per_s']:.3f} "
            f"(x{old['cpu_per_s'] / max(new['cpu_per_s'], 1e-9):.1f} less), queries per second "
            f"{old['queries_per_s']:.0f} -> {new['queries_per_s']:.1f}, full re-checks per "
            f"second {old['rechecks_per_s']:.1f} -> {new['rechecks_per_s']:.1f}, oldest "
            f"answers {old['oldest']:.1f} -> {new['oldest']:.1f} s"
        )
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
