"""The pages one staff member opens every day, at the size of a grown firm: queries that stay
constant as the data grows, and server time and response size, against a plain page of the
same run.

Run from the project root::

    .venv/bin/python -m bench.large_firm --db-url postgres://postgres@127.0.0.1/atrium_bench
    .venv/bin/python -m bench.large_firm --db-url postgres://postgres@127.0.0.1/bench --reuse
    .venv/bin/python -m bench.large_firm --teams 20 --messages 500 --documents 100  # quick

It makes its own database (a SQLite file in a temporary directory unless ``--db-url`` names
an existing, empty PostgreSQL database) and migrates it. With ``--reuse`` a database a
previous ``--reuse`` run seeded is used as it is (seeded first if it holds no such data), so
that runs of different code are compared on the same rows.

The world (the issue's measurement): one staff member on ``--teams`` client teams (202),
each account with its general thread and, ``--threads`` (603) in all, further threads; one
account, Acme, whose first thread holds ``--messages`` messages (10,000) from its client
and the staff member (who wrote in its first half and has read up to there: the second half
is unread to them), and whose vault holds ``--documents`` documents (1,000). Accounts,
people, threads and messages are made through the services (so that whatever the services
keep beside a message is kept); documents and their versions are bulk-inserted, since only
their listing is measured. Then ``ANALYZE``, as autovacuum keeps a live database.

A small world (one account, two threads, a few messages and documents, its own staff
member) is seeded first: the queries of one request of each probe are counted for the small
staff member and for the large one, and must be equal. Then ``--requests`` requests of each
probe as the large staff member, interleaved, after a warm-up, timed in-process (Django's
test client: middleware, view, template, database; no network), wall time and the process's
own CPU time; the baseline is the person's notification settings page. Probes: the staff
home, ``/threads/``, Acme's busy thread page, Acme's account page, Acme's vault page,
``GET /api/v1/vault/documents`` for Acme, ``GET /api/v1/me``, and the WebSocket hello as the
consumer builds it (``selectors.greeting`` and ``protocol.hello_frame``, encoded).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from bench.django_setup import say, setup
from bench.timing import add_timing_options, report, timed_rounds, verdict

ACME = "Acme"


@dataclass
class World:
    staff: object
    account: object  # Acme
    thread: object  # Acme's busy thread


def _person(email: str, firm_role: str):
    from accounts.models import User

    user = User(email=email, name=email.split("@")[0].title(), firm_role=firm_role)
    user.set_unusable_password()
    user.save()
    return user


def _documents(account, staff, count: int) -> None:
    """``count`` documents of one version each in ``account``, bulk-inserted."""
    from django.utils import timezone

    from vault.models import Document, Version

    now = timezone.now()
    Document.objects.bulk_create(
        [
            Document(
                account=account,
                title=f"Document {n + 1}",
                created_by=staff,
                created_at=now,
                updated_at=now,
                version_count=1,
            )
            for n in range(count)
        ],
        batch_size=1000,
    )
    documents = list(Document.objects.filter(account=account).order_by("pk"))
    Version.objects.bulk_create(
        [
            Version(
                document=document,
                number=1,
                filename=f"document-{n + 1}.pdf",
                size=20_000 + n,
                content_type="application/pdf",
                storage_name=f"bench/{document.public_id}/1",
                stored_size=20_100 + n,
                wrapped_data_key=b"\0" * 40,
                uploaded_by=staff,
                created_at=now,
            )
            for n, document in enumerate(documents)
        ],
        batch_size=1000,
    )
    by_document = {v.document_id: v.pk for v in Version.objects.filter(document__in=documents)}
    for document in documents:
        document.latest_version_id = by_document[document.pk]
    Document.objects.bulk_update(documents, ["latest_version"], batch_size=1000)


def _world(label: str, *, teams: int, threads: int, messages: int, documents: int) -> World:
    from accounts.models import ClientRole, FirmRole
    from accounts.services import client_accounts
    from messaging import services
    from messaging.models import Thread

    staff = _person(f"staff-{label}@example.test", FirmRole.STAFF)
    client = _person(f"client-{label}@example.test", FirmRole.NONE)
    accounts = []
    for n in range(teams):
        name = ACME if n == 0 else f"{label.title()} client {n + 1}"
        account = client_accounts.client_account_create(actor=None, name=name)
        client_accounts.team_assign(actor=None, account=account, user=staff, lead=True)
        accounts.append(account)
    acme = accounts[0]
    client_accounts.membership_add(actor=None, account=acme, user=client, role=ClientRole.ADMIN)
    for account in accounts:
        services.thread_ensure_general(account)
    extra = max(0, threads - Thread.objects.filter(account__in=accounts).count())
    made = [
        services.thread_create(
            actor=None, account=accounts[n % len(accounts)], title=f"Thread {n + 1}"
        )
        for n in range(extra)
    ]
    busy = made[0] if made else Thread.objects.get(account=acme, is_general=True)
    started = time.monotonic()
    for n in range(messages):
        # The staff member writes every third message of the first half only, and has read
        # up to the half: the client's messages of the second half are unread to them.
        services.message_store(
            actor=staff if n % 3 == 0 and n < messages // 2 else client,
            thread=busy,
            client_id=uuid.uuid4(),
            body=f"Message {n + 1}: about the draft, the figures and the call on Thursday.",
        )
        if n and n % 2000 == 0:
            say(f"  {n:,} messages in {time.monotonic() - started:.0f} s")
    services.read_mark(actor=staff, thread_id=busy.public_id, seq=messages // 2)
    # A few messages in other threads of Acme, so that its page lists threads with news.
    for thread in Thread.objects.filter(account=acme).exclude(pk=busy.pk)[:3]:
        services.message_store(
            actor=client, thread=thread, client_id=uuid.uuid4(), body="A question for you."
        )
    _documents(acme, staff, documents)
    busy.refresh_from_db()
    return World(staff=staff, account=acme, thread=busy)


def seeded() -> tuple[World, World] | None:
    """The worlds of a database this script seeded before (``--reuse``), or None."""
    from accounts.models import ClientAccount, User
    from messaging.models import Thread

    found = []
    for label in ("small", "large"):
        staff = User.objects.filter(email=f"staff-{label}@example.test").first()
        if staff is None:
            return None
        account = (
            ClientAccount.objects.filter(name=ACME, team_assignments__user=staff).first()
            if label == "large"
            else ClientAccount.objects.filter(team_assignments__user=staff).first()
        )
        thread = Thread.objects.filter(account=account).order_by("-last_seq").first()
        found.append(World(staff=staff, account=account, thread=thread))
    return found[0], found[1]


def seed(args) -> tuple[World, World]:
    started = time.monotonic()
    small = _world("small", teams=1, threads=2, messages=6, documents=3)
    large = _world(
        "large",
        teams=args.teams,
        threads=args.threads,
        messages=args.messages,
        documents=args.documents,
    )
    say(f"seeded in {time.monotonic() - started:.0f} s")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return small, large


@dataclass
class Probe:
    name: str
    run: object  # (world, http client) -> int: the response's size in bytes


def _get(url_of):
    def run(world: World, http) -> int:
        url = url_of(world)
        response = http.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
        return len(response.content)

    return run


def _hello(world: World, _http) -> int:
    from messaging import protocol, selectors

    summarised, notifications_unread = selectors.greeting(world.staff)
    frame = protocol.hello_frame(
        world.staff, [summary for _, summary in summarised], notifications_unread
    )
    return len(json.dumps(frame).encode())


def probes() -> list[Probe]:
    from django.urls import reverse

    return [
        Probe(
            "baseline: notification settings page",
            _get(lambda w: reverse("frontend:notification_settings")),
        ),
        Probe("staff home", _get(lambda w: reverse("frontend:home"))),
        Probe("/threads/", _get(lambda w: reverse("frontend:threads"))),
        Probe(
            "thread page (the busy thread)",
            _get(lambda w: reverse("frontend:thread", args=[w.thread.public_id])),
        ),
        Probe(
            "account page (Acme)",
            _get(lambda w: reverse("frontend:account", args=[w.account.public_id])),
        ),
        Probe(
            "vault page (Acme)",
            _get(lambda w: reverse("frontend:vault", args=[w.account.public_id])),
        ),
        Probe(
            "GET /api/v1/vault/documents",
            _get(lambda w: f"{reverse('vault_api:documents')}?account={w.account.public_id}"),
        ),
        Probe("GET /api/v1/me", _get(lambda w: reverse("api:me"))),
        Probe("WebSocket hello (built)", _hello),
    ]


def signed_in(user):
    from django.test import Client

    http = Client(HTTP_HOST="127.0.0.1")
    http.force_login(user)
    return http


def count_queries(probe: Probe, world: World, http) -> tuple[int, int]:
    """The queries and the response size of one request (after one that warms caches)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    probe.run(world, http)
    with CaptureQueriesContext(connection) as queries:
        size = probe.run(world, http)
    return len(queries), size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teams", type=int, default=202, help="client teams of the staff member")
    parser.add_argument("--threads", type=int, default=603, help="threads in those accounts")
    parser.add_argument("--messages", type=int, default=10_000, help="in Acme's busy thread")
    parser.add_argument("--documents", type=int, default=1_000, help="in Acme's vault")
    add_timing_options(parser, requests=60, warmup=5, target_ms=100.0)
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="atrium-large-firm-bench-"))
    try:
        setup(args.db_url, workdir)
        import config.asgi  # noqa: F401  (loaded as the server loads it)

        found_before = seeded() if args.reuse else None
        if found_before is None:
            small, large = seed(args)
        else:
            small, large = found_before
            say("reusing the data seeded by a previous run")
        found = probes()
        http_small, http_large = signed_in(small.staff), signed_in(large.staff)
        constant = True
        sizes: dict[str, int] = {}
        say("\nqueries per request (small → large), response size as the large staff member:")
        for probe in found:
            few, _ = count_queries(probe, small, http_small)
            many, size = count_queries(probe, large, http_large)
            sizes[probe.name] = size
            constant &= few == many
            say(
                f"  {probe.name:<40} {few:>3} → {many:>3}{'' if few == many else '  GROWS':<7}"
                f" {size / 1024:>8.1f} KB"
            )
        say(f"\nserver time, {args.requests} requests per probe as the large staff member (ms):")
        times, cpu = timed_rounds(
            found,
            lambda probe: probe.run(large, http_large),
            warmup=args.warmup,
            requests=args.requests,
        )
        met = report(found, times, cpu, target_ms=args.target_ms)
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
