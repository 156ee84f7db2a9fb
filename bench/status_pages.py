"""The client's status page (their home) and the staff board with a firm's worth of plans:
queries that stay constant as the data grows, and server time, against a plain page of the
same run.

Run from the project root::

    .venv/bin/python -m bench.status_pages          # 200 matters, 20 milestones, 200 tasks
    .venv/bin/python -m bench.status_pages --requests 100
    .venv/bin/python -m bench.status_pages --db-url postgres://postgres@127.0.0.1/atrium_bench
    .venv/bin/python -m bench.status_pages --db-url postgres://postgres@127.0.0.1/bench --reuse
    .venv/bin/python -m bench.status_pages --db-url postgres://postgres@127.0.0.1/bench \
        --redis-url redis://127.0.0.1:6379/1

It makes its own database (a SQLite file in a temporary directory unless ``--db-url`` names
an existing, empty PostgreSQL database) and migrates it. Accounts, people and matters are
made through the services; the plans (milestones, tasks, changes) are bulk-inserted, since
the services' per-row events are not what is measured; then the database's statistics are
gathered (``ANALYZE``), as autovacuum keeps them on a live one. With ``--reuse`` a database a
previous ``--reuse`` run seeded is used as it is (seeded first if it holds no such data), so
that runs of different code can be compared on the same rows. Two sets of data:

- **small**: one account, 2 matters of 2 milestones and 5 tasks each, seen by a client user
  and a staff member of that account only;
- **large**: ``--matters`` matters (200) over ``--accounts`` accounts (20), each with
  ``--milestones`` milestones (20) and ``--tasks`` tasks (200: 40,000 in all), a mix of done,
  overdue, the client's and assigned to the client user, with ``--changes`` changes each;
  seen by a client user who belongs to every one of those accounts and by a staff member on
  every team (the worst case for one page).

Since the pages keep each account's plans in the cache under its plan version
(``projects.selectors.account_plans``), each page is also measured right after a change to
an account the person sees (that account's version moved before each request, untimed, as
every writer moves it: its plans are read again) and after a change to an account they do
not see (nothing is read again). ``--redis-url`` keeps them in Redis, as production does
with ``REDIS_URL``; without it, in the process's memory.

For each page, the queries of one request as the small user and as the large user are
counted (``CaptureQueriesContext``): they must be equal. Then ``--requests`` requests per
page as the large users, interleaved so that the machine's drift falls on every page alike,
after a warm-up, are timed in-process (Django's test client: middleware, view, template,
the database; no network), and the selectors alone likewise, in wall time and in the process's
own CPU time (the database's work is not in it; on a shared machine it varies far less than
wall time, which mostly measures waiting for a core). The slowest queries of one
request of each page are shown (``--slowest``), to say where the time goes. The baseline
is the person's notification settings page, a plain signed-in page: the figures of a
shared machine vary, the ratio to the baseline of the same run less so.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bench.django_setup import say, setup
from bench.timing import add_timing_options, report, timed_rounds, verdict


@dataclass
class Viewers:
    client: object
    staff: object


def _plan(matters: list, *, milestones: int, tasks: int, changes: int, client, rng, today) -> None:
    """Milestones, tasks and changes for ``matters``, inserted in bulk."""
    from django.utils import timezone

    from projects.models import Change, Milestone, Task

    Milestone.objects.bulk_create(
        [
            Milestone(
                matter=matter,
                title=f"Milestone {m + 1}",
                due=today + timedelta(days=7 * (m - milestones // 3)),
                position=m,
            )
            for matter in matters
            for m in range(milestones)
        ],
        batch_size=2000,
    )
    by_matter: dict[int, list] = {}
    for milestone in Milestone.objects.filter(matter__in=matters).order_by("position"):
        by_matter.setdefault(milestone.matter_id, []).append(milestone)
    rows = []
    now = timezone.now()
    for matter in matters:
        steps = by_matter[matter.pk]
        for t in range(tasks):
            step = steps[t * len(steps) // tasks] if steps else None
            # A fifth the client's, a tenth the client user's, the rest the owner's.
            whose = rng.random()
            for_client = whose < 0.2
            done = rng.random() < 0.4
            rows.append(
                Task(
                    matter=matter,
                    milestone=step,
                    title=f"Task {t + 1}",
                    due=step.due if step is not None else None,
                    for_client=for_client,
                    assignee=None if for_client else client if whose < 0.3 else matter.owner,
                    done_at=now - timedelta(days=1) if done else None,
                    position=t,
                )
            )
    Task.objects.bulk_create(rows, batch_size=2000)
    Change.objects.bulk_create(
        [
            Change(
                matter=matter,
                kind="task.done",
                summary=f"Sam ticked “Task {c + 1}”",
                at=now - timedelta(hours=c),
            )
            for matter in matters
            for c in range(changes)
        ],
        batch_size=2000,
    )


def seeded() -> tuple[Viewers, Viewers] | None:
    """The people of a database this script seeded before (``--reuse``), or None."""
    from accounts.models import User

    found = {u.email: u for u in User.objects.filter(email__endswith="@example.test")}
    try:
        return tuple(
            Viewers(
                client=found[f"client-{label}@example.test"],
                staff=found[f"staff-{label}@example.test"],
            )
            for label in ("small", "large")
        )
    except KeyError:
        return None


def seed(args) -> tuple[Viewers, Viewers]:
    from django.utils import timezone

    from accounts.models import ClientRole, FirmRole, Matter, User
    from accounts.services import client_accounts, matters

    rng = random.Random(13)
    today = timezone.localdate()

    def person(email: str, firm_role: str = FirmRole.NONE) -> User:
        user = User(email=email, name=email.split("@")[0].title(), firm_role=firm_role)
        user.set_unusable_password()
        user.save()
        return user

    def world(label: str, accounts: int, per_account: int, **plan) -> Viewers:
        client = person(f"client-{label}@example.test")
        staff = person(f"staff-{label}@example.test", FirmRole.STAFF)
        made = []
        for a in range(accounts):
            account = client_accounts.client_account_create(
                actor=None, name=f"{label.title()} client {a + 1}"
            )
            client_accounts.membership_add(
                actor=None, account=account, user=client, role=ClientRole.ADMIN
            )
            client_accounts.team_assign(actor=None, account=account, user=staff, lead=True)
            for m in range(per_account):
                made.append(
                    matters.matter_create(
                        actor=None, account=account, title=f"Matter {a + 1}.{m + 1}"
                    )
                )
        Matter.objects.filter(pk__in=[m.pk for m in made]).update(owner=staff)
        for matter in made:
            matter.owner = staff
        _plan(made, client=client, rng=rng, today=today, **plan)
        return Viewers(client=client, staff=staff)

    started = time.monotonic()
    small = world("small", 1, 2, milestones=2, tasks=5, changes=2)
    per_account = max(1, args.matters // args.accounts)
    large = world(
        "large",
        args.accounts,
        per_account,
        milestones=args.milestones,
        tasks=args.tasks,
        changes=args.changes,
    )
    from projects.models import Milestone, Task

    say(
        f"seeded {args.accounts * per_account + 2} matters, {Milestone.objects.count():,} "
        f"milestones, {Task.objects.count():,} tasks in {time.monotonic() - started:.1f} s"
    )
    # A live database has its planner statistics (autovacuum keeps them); rows inserted a
    # second ago have none, and the planner would guess at every query measured.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return small, large


@dataclass
class Probe:
    name: str
    who: str  # "client" or "staff"
    run: object  # (viewer, http client) -> None
    # Done before each request, untimed: what the measured request comes after.
    before: object = None  # (viewer) -> None


def _page(url_name: str):
    from django.urls import NoReverseMatch, reverse

    try:
        url = reverse(url_name)
    except NoReverseMatch:
        return None

    def run(_viewer, http) -> None:
        response = http.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")

    return run


def probes() -> list[Probe]:
    from django.utils import timezone

    found: list[Probe] = []
    baseline = _page("frontend:notification_settings")
    found.append(Probe("baseline: notification settings page", "client", baseline))
    home = _page("frontend:home")
    found.append(Probe("client home (status page)", "client", home))
    board = _page("frontend:board")
    if board is not None:
        found.append(Probe("staff board page", "staff", board))
    else:
        say("no frontend:board route in this tree: the board page is not measured")
    try:
        from projects.selectors.status import client_status

        def status_selector(viewer, _http) -> None:
            client_status(viewer, today=timezone.localdate(), since=None)

        found.append(Probe("client_status() alone", "client", status_selector))
    except ImportError:
        say("no projects.selectors.status in this tree: client_status is not measured")
    try:
        from frontend.views.board import BOARD_PAGE
        from projects.selectors.board import board_page

        # The board page's selector: the whole board ordered, one page of it counted.
        def board_selector(viewer, _http) -> None:
            board_page(viewer, today=timezone.localdate(), size=BOARD_PAGE)

        found.append(Probe("board_page() alone", "staff", board_selector))
    except ImportError:
        try:
            from projects.selectors.board import staff_board

            def whole_board(viewer, _http) -> None:
                staff_board(viewer, today=timezone.localdate())

            found.append(Probe("staff_board() alone", "staff", whole_board))
        except ImportError:
            say("no projects.selectors.board in this tree: the board is not measured")
    found += _after_changes(home, board)
    return found


def _after_changes(home, board) -> list[Probe]:
    """The pages right after a change to the plans of an account the person sees (its kept
    plans read again), and after one to an account they do not see (nothing read again):
    the account's plan version moved as every writer moves it, the write itself untimed."""
    try:
        from projects.plan_versions import plan_changed
    except ImportError:
        say("no projects.plan_versions in this tree: nothing is kept, nothing measured after")
        return []
    from accounts.models import ClientAccount, Membership, TeamAssignment

    def accounts_of(viewer) -> tuple[int, int]:
        """An account the viewer sees (the first they belong to or serve), and one they do
        not."""
        seen = {
            *Membership.objects.filter(user=viewer).values_list("account_id", flat=True),
            *TeamAssignment.objects.filter(user=viewer).values_list("account_id", flat=True),
        }
        others = ClientAccount.objects.exclude(pk__in=seen).order_by("pk")
        return min(seen), others.values_list("pk", flat=True)[0]

    known: dict[int, tuple[int, int]] = {}

    def changed(which: int):
        def before(viewer) -> None:
            if viewer.pk not in known:
                known[viewer.pk] = accounts_of(viewer)
            plan_changed(account_ids=[known[viewer.pk][which]])

        return before

    theirs, other = changed(0), changed(1)

    found = [
        Probe("client home, after a change in its account", "client", home, theirs),
        Probe("client home, after a change elsewhere", "client", home, other),
    ]
    if board is not None:
        found += [
            Probe("staff board, after a change in its account", "staff", board, theirs),
            Probe("staff board, after a change elsewhere", "staff", board, other),
        ]
    return found


def signed_in(user):
    from django.test import Client

    http = Client(HTTP_HOST="127.0.0.1")
    http.force_login(user)
    return http


def capture_queries(probe: Probe, viewers: Viewers, http) -> list[tuple[float, str]]:
    """The queries of one request: (milliseconds, SQL), rows fetched included."""
    from django.db import connection

    viewer = getattr(viewers, probe.who)
    probe.run(viewer, http)  # the session and the caches warmed
    if probe.before is not None:
        probe.before(viewer)
    captured: list[tuple[float, str]] = []

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            captured.append(((time.perf_counter() - started) * 1000, sql))

    with connection.execute_wrapper(timed):
        probe.run(viewer, http)
    return captured


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--matters", type=int, default=200)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--milestones", type=int, default=20, help="per matter")
    parser.add_argument("--tasks", type=int, default=200, help="per matter")
    parser.add_argument("--changes", type=int, default=10, help="per matter")
    add_timing_options(parser, requests=200, warmup=10, target_ms=50.0)
    parser.add_argument(
        "--redis-url",
        default=None,
        help="Redis as the cache (and channel layer), as in production; else the process's memory",
    )
    parser.add_argument("--slowest", type=int, default=3, help="queries shown per page")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="atrium-status-bench-"))
    try:
        setup(args.db_url, workdir, redis_url=args.redis_url)
        # Loaded as the server's process loads it: the application built, then what is alive
        # frozen out of garbage collections (``config.asgi``).
        import config.asgi  # noqa: F401

        found_before = seeded() if args.reuse else None
        if found_before is None:
            small, large = seed(args)
        else:
            small, large = found_before
            say("reusing the data seeded by a previous run")
        found = probes()
        clients = {
            ("small", "client"): signed_in(small.client),
            ("small", "staff"): signed_in(small.staff),
            ("large", "client"): signed_in(large.client),
            ("large", "staff"): signed_in(large.staff),
        }
        constant = True
        say("\nqueries per request (small → large):")
        slowest: dict[str, list[dict]] = {}
        for probe in found:
            few = len(capture_queries(probe, small, clients["small", probe.who]))
            captured = capture_queries(probe, large, clients["large", probe.who])
            many = len(captured)
            constant &= few == many
            say(f"  {probe.name:<40} {few:>3} → {many:>3}{'' if few == many else '  GROWS'}")
            slowest[probe.name] = sorted(captured, key=lambda q: -q[0])
        if args.slowest:
            say(f"\nslowest {args.slowest} queries of one request as the large users:")
            for probe in found[1:]:
                say(f"  {probe.name}")
                for took, sql in slowest[probe.name][: args.slowest]:
                    say(f"    {took:7.1f} ms  {' '.join(sql.split())[:110]}")

        say(f"\nserver time, {args.requests} requests per page as the large users (ms):")
        # Wall time, and the process's own CPU time (the database's work is not in it): on a
        # shared machine wall time mostly measures waiting for a core, CPU time far less.
        times, cpu = timed_rounds(
            found,
            lambda probe: probe.run(getattr(large, probe.who), clients["large", probe.who]),
            warmup=args.warmup,
            requests=args.requests,
            prepare=lambda probe: probe.before and probe.before(getattr(large, probe.who)),
        )
        met = report(found, times, cpu, target_ms=args.target_ms)
        say(f"cache: {'Redis' if args.redis_url else 'memory of this process'}")
        return verdict(
            constant=constant,
            met=met,
            target_ms=args.target_ms,
            database="PostgreSQL" if args.db_url else "SQLite",
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
