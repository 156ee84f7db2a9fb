"""The adoption metrics (``GET /api/v1/metrics/adoption`` and the Insights page) at the size
the issue names: 500 client accounts, 5,000 client users, 1,000,000 sign-ins, with tickets,
messages, tasks and approvals beside them; queries counted, server time against a plain page
of the same run.

Run from the project root::

    .venv/bin/python -m bench.metrics                      # SQLite, the full size (slow)
    .venv/bin/python -m bench.metrics --db-url postgres://postgres@127.0.0.1/atrium_bench
    .venv/bin/python -m bench.metrics --db-url postgres://postgres@127.0.0.1/bench --reuse
    .venv/bin/python -m bench.metrics --accounts 20 --users 200 --logins 5000   # a quick look

It makes its own database (a SQLite file in a temporary directory unless ``--db-url`` names
an existing, empty PostgreSQL database) and migrates it. The accounts are opened through the
service; people, memberships, threads, messages, tickets, matters, tasks and approvals are
bulk-inserted, and the sign-ins are written with PostgreSQL's ``COPY`` (``executemany`` on
SQLite), in the order they happened, so that seeding the full size takes a few minutes;
then ``VACUUM ANALYZE``, as autovacuum keeps a live database. With
``--reuse`` a database a previous ``--reuse`` run seeded is used as it is.

The world: ``--accounts`` accounts of ``--users`` / accounts client users each (one in
twenty also in a second account), whose sign-ins are spread over the ``--days`` days before
today, people weighted unevenly, a third of them lapsed (no sign-in in the last 31 days);
``--messages`` messages from both sides in the accounts' general threads, one in twenty
with a status phrase; ``--tickets`` tickets (a fifth in a status category), most answered,
most resolved; ``--tasks`` tasks, most done; ``--approvals`` approval requests, most decided.

The rollups of closed months (``insights/rollups.py``) are dropped once the world is there
(it was written into past months behind their back) and rebuilt by one 365-day request,
whose time is printed. Queries of one request are counted on a world of three accounts
before the large one is seeded, and again after: they must be equal. Then ``--requests``
requests of each probe, interleaved, after a warm-up, timed in-process (Django's test
client: middleware, view, template, database; no network), wall time and the process's own
CPU time; the baseline is the admin's notification settings page. Probes: the API over the
last 30 days (the page's default), over a whole year, as CSV; the Insights page over both;
and ``adoption()`` alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bench.django_setup import say, setup
from bench.timing import add_timing_options, report, timed_rounds, verdict

STATUS_BODIES = ("Hi, where are we with this?", "Any update on the draft?", "any news?")
PLAIN_BODIES = (
    "Thanks, that works for us.",
    "Attached the figures you asked for.",
    "Can we move the call to Thursday?",
    "Looks good to me.",
)
ADMIN_EMAIL = "bench-admin@example.test"


@dataclass
class Probe:
    name: str
    run: object  # (http client) -> None


def _hours(rng: random.Random, low: float, high: float) -> timedelta:
    return timedelta(hours=rng.uniform(low, high))


def _logins_write(rows: list[tuple]) -> None:
    """Sign-ins in bulk: COPY on PostgreSQL, executemany on SQLite."""
    from django.db import connection

    from insights.models import LoginEvent

    table = LoginEvent._meta.db_table
    columns = ("public_id", "user_id", "at", "firm_staff")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            raw = cursor.cursor
            with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            # SQLite keeps times as UTC text without an offset, as Django writes them.
            rows = [
                (p, u, at.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" "), f)
                for p, u, at, f in rows
            ]
            marks = ", ".join("%s" for _ in columns)
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
            for start in range(0, len(rows), 20000):
                cursor.executemany(sql, rows[start : start + 20000])


def seed_world(
    label: str,
    *,
    accounts: int,
    users: int,
    logins: int,
    messages: int,
    tickets: int,
    tasks: int,
    approvals: int,
    days: int,
    rng: random.Random,
) -> None:
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.utils import timezone

    from accounts.ids import new_public_id
    from accounts.models import FirmRole, Matter, Membership, User
    from accounts.services import client_accounts
    from approvals.models import ApprovalRequest
    from messaging.models import Message, Thread
    from messaging.services import thread_ensure_general
    from projects.models import Task
    from support.models import Category, Ticket

    now = timezone.now()
    started = time.monotonic()
    staff = User.objects.create(
        email=f"bench-staff-{label}@example.test",
        name=f"Staff {label}",
        firm_role=FirmRole.STAFF,
        password=make_password(None),
    )
    opened = [
        client_accounts.client_account_create(actor=None, name=f"{label} client {a + 1:04d}")
        for a in range(accounts)
    ]
    generals = [thread_ensure_general(account) for account in opened]
    say(f"  {label}: {accounts} accounts opened in {time.monotonic() - started:.1f} s")
    unusable = make_password(None)
    people = User.objects.bulk_create(
        [
            User(email=f"{label}-person{n}@example.test", name=f"Person {n}", password=unusable)
            for n in range(users)
        ],
        batch_size=2000,
    )
    people = list(User.objects.filter(email__startswith=f"{label}-person").order_by("pk"))
    per_account = max(1, users // accounts)
    members: dict[int, list] = {}
    rows = []
    for n, person in enumerate(people):
        home = opened[min(n // per_account, accounts - 1)]
        members.setdefault(home.pk, []).append(person)
        rows.append(Membership(account=home, user=person))
        if n % 20 == 0 and accounts > 1:
            other = opened[(n // per_account + 1) % accounts]
            members.setdefault(other.pk, []).append(person)
            rows.append(Membership(account=other, user=person))
    Membership.objects.bulk_create(rows, batch_size=5000)

    # Sign-ins: uneven activity, a third lapsed (none in the last 31 days).
    weights = [rng.lognormvariate(0, 1) for _ in people]
    lapsed = {p.pk for p in people if rng.random() < 1 / 3}
    span = days * 86400
    chosen = rng.choices(people, weights=weights, k=logins)
    events = []
    for person in chosen:
        if person.pk in lapsed:
            ago = rng.uniform(31 * 86400, max(span, 32 * 86400))
        else:
            ago = rng.uniform(0, span)
        events.append((new_public_id("lgn"), person.pk, now - timedelta(seconds=ago), False))
    # Written in the order they happened, as a live database receives them.
    events.sort(key=lambda row: row[2])
    for start in range(0, len(events), 200_000):
        with transaction.atomic():
            _logins_write(events[start : start + 200_000])
    say(f"  {label}: {logins:,} sign-ins written, {time.monotonic() - started:.1f} s in")

    def when() -> timedelta:
        return timedelta(seconds=rng.uniform(0, span))

    rows = []
    seq: dict[int, int] = {}
    for _ in range(messages):
        a = rng.randrange(accounts)
        thread = generals[a]
        from_client = rng.random() < 0.6 and members.get(opened[a].pk)
        author = rng.choice(members[opened[a].pk]) if from_client else staff
        body = rng.choice(STATUS_BODIES if rng.random() < 0.05 else PLAIN_BODIES)
        seq[thread.pk] = seq.get(thread.pk, 0) + 1
        rows.append(
            Message(
                thread=thread,
                author=author,
                client_id=uuid.uuid4(),
                body=body,
                seq=seq[thread.pk],
                created_at=now - when(),
            )
        )
    rows.sort(key=lambda m: m.created_at)
    Message.objects.bulk_create(rows, batch_size=5000)
    say(f"  {label}: {messages:,} messages, {time.monotonic() - started:.1f} s in")

    status = Category.objects.create(name=f"{label} where are we", is_status=True)
    other = Category.objects.create(name=f"{label} technical")
    threads = Thread.objects.bulk_create(
        [
            Thread(account=opened[rng.randrange(accounts)], title=f"Ticket {n}")
            for n in range(tickets)
        ],
        batch_size=5000,
    )
    rows = []
    for thread in threads:
        created = now - when()
        answered = created + _hours(rng, 0.1, 30) if rng.random() < 0.9 else None
        resolved = (answered + _hours(rng, 1, 200)) if answered and rng.random() < 0.8 else None
        opener = members.get(thread.account_id) or [staff]
        rows.append(
            Ticket(
                account_id=thread.account_id,
                category=status if rng.random() < 0.2 else other,
                thread=thread,
                subject=thread.title,
                opened_by=rng.choice(opener),
                created_at=created,
                updated_at=created,
                first_response_at=answered,
                resolved_at=resolved,
                status="resolved" if resolved else "open",
            )
        )
    Ticket.objects.bulk_create(rows, batch_size=5000)
    matters = Matter.objects.bulk_create(
        [Matter(account=account, title="Engagement") for account in opened], batch_size=2000
    )
    rows = []
    for n in range(tasks):
        created = now - when()
        done = created + _hours(rng, 1, 500) if rng.random() < 0.7 else None
        rows.append(
            Task(
                matter=matters[n % len(matters)],
                title=f"Task {n}",
                position=n,
                created_at=created,
                done_at=done if done and done < now else None,
            )
        )
    Task.objects.bulk_create(rows, batch_size=5000)
    rows = []
    for n in range(approvals):
        a = n % accounts
        created = now - when()
        decided = rng.random() < 0.8
        rows.append(
            ApprovalRequest(
                account=opened[a],
                thread=generals[a],
                title=f"Approval {n}",
                policy="all",
                required=1,
                created_by=staff,
                created_at=created,
                status=rng.choice(("approved", "rejected")) if decided else "open",
                closed_at=created + _hours(rng, 1, 100) if decided else None,
            )
        )
    ApprovalRequest.objects.bulk_create(rows, batch_size=5000)
    say(f"  {label}: seeded in {time.monotonic() - started:.1f} s")


def admin_user():
    from django.contrib.auth.hashers import make_password

    from accounts.models import FirmRole, User

    found = User.objects.filter(email=ADMIN_EMAIL).first()
    if found is None:
        found = User.objects.create(
            email=ADMIN_EMAIL,
            name="Bench Admin",
            firm_role=FirmRole.ADMIN,
            password=make_password(None),
        )
    return found


def probes(admin) -> list[Probe]:
    from django.urls import reverse
    from django.utils import timezone

    from insights.period import period_parse
    from insights.selectors.adoption import adoption

    api = reverse("insights_api:adoption")
    page = reverse("frontend:insights")
    today = timezone.localdate()
    year = {"from": (today - timedelta(days=365)).isoformat()}

    def get(url: str, query: dict | None = None):
        def run(http) -> None:
            response = http.get(url, query or {})
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")

        return run

    def selector(_http) -> None:
        adoption(admin, period_parse(first=None, end=None, since=None, today=today))

    return [
        Probe(
            "baseline: notification settings page", get(reverse("frontend:notification_settings"))
        ),
        Probe("API, last 30 days (JSON)", get(api)),
        Probe("API, last 365 days (JSON)", get(api, year)),
        Probe("API, last 30 days (CSV)", get(api, {"format": "csv"})),
        Probe("Insights page, last 30 days", get(page)),
        Probe("Insights page, last 365 days", get(page, year)),
        Probe("adoption() alone, last 30 days", selector),
    ]


def count_queries(probe: Probe, http) -> list[tuple[float, str]]:
    from django.db import connection

    probe.run(http)  # the session and the caches warmed
    captured: list[tuple[float, str]] = []

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            captured.append(((time.perf_counter() - started) * 1000, sql))

    with connection.execute_wrapper(timed):
        probe.run(http)
    return captured


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--logins", type=int, default=1_000_000)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--approvals", type=int, default=2_000)
    parser.add_argument("--days", type=int, default=365, help="the sign-ins' spread")
    add_timing_options(parser, requests=50, warmup=5, target_ms=300.0)
    parser.add_argument("--slowest", type=int, default=4, help="queries shown per probe")
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="atrium-metrics-bench-"))
    try:
        setup(args.db_url, workdir)
        from django.db import connection
        from django.test import Client

        import config.asgi  # noqa: F401  (loaded as the server loads it)
        from insights.models import LoginEvent
        from insights.rollups import rollups_drop

        rng = random.Random(args.seed)
        admin = admin_user()
        http = Client(HTTP_HOST="127.0.0.1")
        http.force_login(admin)
        found = probes(admin)
        reused = args.reuse and LoginEvent.objects.filter(firm_staff=False).count() >= args.logins
        few: dict[str, int] = {}
        if not reused:
            size = {"messages": 60, "tickets": 20, "tasks": 20, "approvals": 6}
            seed_world("small", accounts=3, users=9, logins=100, days=args.days, rng=rng, **size)
            few = {probe.name: len(count_queries(probe, http)) for probe in found}
            seed_world(
                "large",
                accounts=args.accounts,
                users=args.users,
                logins=args.logins,
                messages=args.messages,
                tickets=args.tickets,
                tasks=args.tasks,
                approvals=args.approvals,
                days=args.days,
                rng=rng,
            )
            # A live database has its statistics and visibility map (autovacuum keeps them);
            # rows inserted a second ago have neither.
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
        else:
            say("reusing the data seeded by a previous run")
        say(f"sign-ins in the database: {LoginEvent.objects.count():,}")
        # Rows were written into closed months behind the rollups' back: built afresh, and
        # the cost of building a year's timed once.
        rollups_drop()
        started = time.perf_counter()
        found[2].run(http)
        took = time.perf_counter() - started
        say(f"rollups of a year built by the first 365-day request: {took:.2f} s")

        constant = True
        say("\nqueries per request (3 accounts → the large world):")
        slowest: dict[str, list] = {}
        for probe in found:
            captured = count_queries(probe, http)
            many = len(captured)
            before = few.get(probe.name)
            if before is not None:
                constant &= before == many
            shown = "n/a" if before is None else str(before)
            grows = "" if before in (None, many) else "  GROWS"
            say(f"  {probe.name:<40} {shown:>3} → {many:>3}{grows}")
            slowest[probe.name] = sorted(captured, key=lambda q: -q[0])
        if args.slowest:
            say(f"\nslowest {args.slowest} queries of one request:")
            for probe in found[1:]:
                say(f"  {probe.name}")
                for took, sql in slowest[probe.name][: args.slowest]:
                    say(f"    {took:7.1f} ms  {' '.join(sql.split())[:110]}")

        say(f"\nserver time, {args.requests} requests per probe (ms):")
        times, cpu = timed_rounds(
            found, lambda probe: probe.run(http), warmup=args.warmup, requests=args.requests
        )
        met = report(found, times, cpu, target_ms=args.target_ms)
        return verdict(
            constant=constant, met=met, target_ms=args.target_ms, database=connection.vendor
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
