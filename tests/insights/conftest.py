"""A small world whose every adoption figure is computed by hand in the tests.

The period is 2026-10-22 to 2026-12-01 (40 days, ``to`` excluded), split at 2026-11-16; the
30 days before ``to`` start on 2026-11-01. Times are UTC (the tests' time zone)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

import pytest

from accounts.models import AccountStatus
from approvals.models import ApprovalRequest, SignatureRequest
from insights.models import DEFAULT_STATUS_PHRASES, LoginEvent, StatusPhrase
from insights.period import period_parse
from messaging.models import Message, Thread
from messaging.services import thread_ensure_general
from projects.models import Task
from support.models import Category, Ticket
from tests import factories

UTC = dt.UTC


def at(text: str) -> dt.datetime:
    """'2026-11-05 09:30' as a UTC time."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def login(user, when: str) -> LoginEvent:
    return LoginEvent.objects.create(user=user, at=at(when), firm_staff=user.is_firm_staff)


def message(thread, author, when: str, body: str, *, deleted: bool = False) -> Message:
    # Numbered and counted as messaging.services.message_store does (Thread.message_count
    # keeps the undeleted ones).
    thread.last_seq += 1
    thread.message_count += 0 if deleted else 1
    thread.save(update_fields=["last_seq", "message_count"])
    return Message.objects.create(
        thread=thread,
        author=author,
        client_id=uuid.uuid4(),
        body=body,
        seq=thread.last_seq,
        created_at=at(when),
        deleted_at=at(when) if deleted else None,
    )


def ticket(account, category, opener, opened: str, *, answered=None, resolved=None) -> Ticket:
    thread = Thread.objects.create(account=account, title=f"Ticket of {opened}")
    return Ticket.objects.create(
        account=account,
        category=category,
        thread=thread,
        subject=f"Opened {opened}",
        opened_by=opener,
        created_at=at(opened),
        first_response_at=at(answered) if answered else None,
        resolved_at=at(resolved) if resolved else None,
        status="resolved" if resolved else "open",
    )


@dataclass
class World:
    period: object
    admin: object
    staff: object
    acme: object
    globex: object
    initech: object
    archived: object
    people: dict = field(default_factory=dict)
    records: dict = field(default_factory=dict)


@pytest.fixture
def world(db) -> World:
    # The defaults come from a data migration, which a transactional test's flush removes
    # for the tests that follow it in the same process.
    StatusPhrase.objects.bulk_create(
        [StatusPhrase(phrase=p) for p in DEFAULT_STATUS_PHRASES], ignore_conflicts=True
    )
    acme = factories.account("Acme")
    globex = factories.account("Globex")
    initech = factories.account("Initech")
    archived = factories.account("Archived Co")
    archived.status = AccountStatus.ARCHIVED
    archived.save(update_fields=["status"])
    admin = factories.firm_admin(name="Fiona Admin")
    staff = factories.staff(accounts=(acme, globex), name="Sam Staff")
    a1 = factories.client(acme, name="Ann One")
    a2 = factories.client(acme, name="Ben Two")
    a3 = factories.client(acme, name="Cat Three")
    a4 = factories.client(acme, name="Dan Gone")
    a4.is_active = False
    a4.save(update_fields=["is_active"])
    g1 = factories.client(globex, name="Gina Globex")
    # Gina is in Acme too: one person for the firm, counted in both accounts.
    from accounts.services import client_accounts

    client_accounts.membership_add(actor=None, account=acme, user=g1, role="member")
    z1 = factories.client(archived, name="Zed Archived")
    LoginEvent.objects.all().delete()  # whatever the factories' sign-ins left

    login(a1, "2026-10-25 10:00")  # in the period, not in its last 30 days
    login(a1, "2026-11-05 10:00")
    login(a1, "2026-11-20 10:00")
    login(a2, "2026-10-30 10:00")  # active, but not in the last 30 days
    login(a2, "2026-10-10 10:00")  # before the period
    login(a4, "2026-11-10 10:00")  # no longer an active user
    login(g1, "2026-11-30 23:00")
    login(g1, "2026-12-01 00:00")  # ``to`` is not counted
    login(staff, "2026-11-05 09:00")  # the firm's
    login(admin, "2026-11-06 09:00")
    login(z1, "2026-11-06 09:00")  # an archived account

    general = thread_ensure_general(acme)
    message(general, a1, "2026-11-02 09:00", "Hi, where are we with the logo?")
    message(general, staff, "2026-11-03 09:00", "Where are we? Almost done.")
    message(general, a1, "2026-11-20 09:00", "ANY UPDATE?")
    message(general, a1, "2026-11-21 09:00", "anyupdate here")  # not a whole word
    message(general, a2, "2026-11-25 09:00", "Any\n  updates on this")
    message(general, a1, "2026-11-26 09:00", "where are we", deleted=True)
    message(general, a1, "2026-10-01 09:00", "where are we")  # before the period

    status = Category.objects.create(name="Where are we?", is_status=True)
    technical = Category.objects.create(name="Technical")
    t1 = ticket(
        acme,
        status,
        a1,
        "2026-11-10 09:00",
        answered="2026-11-10 11:00",
        resolved="2026-11-11 09:00",
    )  # 2 h, 24 h; before
    t2 = ticket(
        acme,
        technical,
        a1,
        "2026-11-17 00:00",
        answered="2026-11-17 04:00",
        resolved="2026-11-19 00:00",
    )  # 4 h, 48 h
    t3 = ticket(acme, status, a2, "2026-11-18 00:00", answered="2026-11-18 10:00")  # 10 h; after
    t4 = ticket(
        acme,
        technical,
        a1,
        "2026-10-01 00:00",
        answered="2026-10-01 01:00",
        resolved="2026-11-02 00:00",
    )  # resolved in the period: 768 h
    # A status phrase inside a ticket's own thread: the ticket is what counts.
    message(t3.thread, a2, "2026-11-18 00:00", "where are we with the login?")

    matter = factories.matter(acme)
    tasks = [
        ("2026-11-01 00:00", "2026-11-02 00:00"),  # 24 h
        ("2026-11-01 00:00", "2026-11-01 06:00"),  # 6 h
        ("2026-10-01 00:00", "2026-11-05 00:00"),  # 840 h
        ("2026-11-10 00:00", "2026-11-10 12:00"),  # 12 h
        ("2026-11-20 00:00", "2026-12-03 00:00"),  # done after the period
        ("2026-11-20 00:00", None),  # open
    ]
    for n, (created, done) in enumerate(tasks):
        Task.objects.create(
            matter=matter,
            title=f"Task {n}",
            position=n,
            created_at=at(created),
            done_at=at(done) if done else None,
        )

    def approval(status: str, created: str, closed: str | None):
        return ApprovalRequest.objects.create(
            account=acme,
            thread=general,
            title=f"{status} {created}",
            policy="all",
            required=1,
            created_by=staff,
            status=status,
            created_at=at(created),
            closed_at=at(closed) if closed else None,
        )

    approval("approved", "2026-11-01 00:00", "2026-11-03 00:00")  # 48 h
    approval("rejected", "2026-11-05 00:00", "2026-11-05 12:00")  # 12 h
    approval("withdrawn", "2026-11-05 00:00", "2026-11-06 00:00")  # not decided
    approval("open", "2026-11-05 00:00", None)

    signed = factories.signature_request(globex, by=staff, signers=(g1,))
    SignatureRequest.objects.filter(pk=signed.pk).update(
        status="completed", created_at=at("2026-11-10 00:00"), closed_at=at("2026-11-11 06:00")
    )  # 30 h

    period = period_parse(
        first="2026-10-22", end="2026-12-01", since="2026-11-16", today=dt.date(2026, 12, 7)
    )
    return World(
        period=period,
        admin=admin,
        staff=staff,
        acme=acme,
        globex=globex,
        initech=initech,
        archived=archived,
        people={"a1": a1, "a2": a2, "a3": a3, "a4": a4, "g1": g1, "z1": z1},
        records={"t1": t1, "t2": t2, "t3": t3, "t4": t4, "general": general},
    )
