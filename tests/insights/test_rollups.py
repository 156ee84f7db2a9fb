"""Rollups of closed months (insights/rollups.py): how a period is cut, that the figures read
through them are exactly the raw ones, and that what changes a month's counts drops it."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insights import rollups
from insights.models import LoginEvent, MonthlyMessages, MonthlySignIns, RolledMonth, StatusPhrase
from insights.period import period_parse
from insights.rollups import Split, span_split
from insights.selectors import adoption as adoption_module
from insights.selectors.adoption import adoption, logins_by_day
from messaging.models import Message
from messaging.services import thread_ensure_general
from tests import factories
from tests.insights.conftest import at, login, message

D = dt.date
NOW = dt.datetime(2026, 12, 8, 12, 0, tzinfo=dt.UTC)  # December is open, November closed


def figures(result) -> dict:
    return {row["account"]: row for row in result.accounts} | {"firm": result.firm}


def raw_only(monkeypatch):
    return monkeypatch.setattr(
        adoption_module,
        "span_split",
        lambda first, end, cuts=(): Split(rolled=(), raw=((first, end),)),
    )


def raw_figures(user, period, monkeypatch) -> dict:
    """adoption() with no month rolled up: every row read raw."""
    with monkeypatch.context() as patched:
        raw_only(patched)
        return figures(adoption(user, period))


def raw_days(user, period, monkeypatch) -> list[dict]:
    with monkeypatch.context() as patched:
        raw_only(patched)
        return logins_by_day(user, period)


# --- cutting a period -----------------------------------------------------------------------


def test_whole_closed_months_are_rolled_and_the_edges_raw():
    found = span_split(D(2026, 8, 15), D(2026, 12, 9), now=NOW)
    assert found.rolled == (D(2026, 9, 1), D(2026, 10, 1), D(2026, 11, 1))
    # The partial August, and December: open, so raw although it has begun.
    assert found.raw == ((D(2026, 8, 15), D(2026, 9, 1)), (D(2026, 12, 1), D(2026, 12, 9)))


def test_a_month_that_since_falls_in_is_raw_and_the_others_are_on_one_side():
    found = span_split(D(2026, 8, 1), D(2026, 12, 1), cuts=(D(2026, 10, 16),), now=NOW)
    assert found.rolled == (D(2026, 8, 1), D(2026, 9, 1), D(2026, 11, 1))
    assert found.raw == ((D(2026, 10, 1), D(2026, 11, 1)),)
    # A cut on a month's first day splits nothing.
    on_edge = span_split(D(2026, 8, 1), D(2026, 12, 1), cuts=(D(2026, 10, 1),), now=NOW)
    assert on_edge.rolled == (D(2026, 8, 1), D(2026, 9, 1), D(2026, 10, 1), D(2026, 11, 1))
    assert on_edge.raw == ()


def test_a_period_within_one_month_or_ending_in_the_open_one_has_nothing_rolled():
    assert span_split(D(2026, 11, 2), D(2026, 11, 30), now=NOW).rolled == ()
    found = span_split(D(2026, 12, 1), D(2027, 3, 1), now=NOW)
    assert found.rolled == ()
    assert found.raw == ((D(2026, 12, 1), D(2027, 3, 1)),)


def test_a_month_closes_at_midnight_in_the_firms_time_zone():
    # 03:00 UTC on 1 December is still 30 November in New York: November is open there.
    early = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC)
    with override_settings(TIME_ZONE="America/New_York"):
        assert span_split(D(2026, 10, 1), D(2026, 12, 1), now=early).rolled == (D(2026, 10, 1),)
    assert span_split(D(2026, 10, 1), D(2026, 12, 1), now=early).rolled == (
        D(2026, 10, 1),
        D(2026, 11, 1),
    )


# --- the figures through rollups are the raw ones -------------------------------------------


@pytest.fixture
def small(db):
    StatusPhrase.objects.bulk_create(
        [StatusPhrase(phrase=p) for p in ("where are we", "any update")], ignore_conflicts=True
    )
    acme, globex = factories.account("Acme"), factories.account("Globex")
    admin = factories.firm_admin()
    staff = factories.staff(accounts=(acme, globex))
    a1, a2 = factories.client(acme), factories.client(acme)
    g1 = factories.client(globex)
    from accounts.services import client_accounts

    client_accounts.membership_add(actor=None, account=globex, user=a2, role="member")
    gone = factories.client(acme)  # switched off: their sign-ins are not counted
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    LoginEvent.objects.all().delete()
    support_thread = factories.ticket(acme, by=a1).thread
    return {
        "admin": admin,
        "people": [a1, a2, g1, staff, gone],
        "threads": [thread_ensure_general(acme), thread_ensure_general(globex), support_thread],
    }


def _month_start_before(months: int) -> dt.date:
    today = timezone.localdate()
    first = today.replace(day=1)
    for _ in range(months):
        first = (first - dt.timedelta(days=1)).replace(day=1)
    return first


BODIES = ("where are we?", "thanks", "ANY update", "any updated plan")
# Days from the first day of the month four months before the current one: that month,
# the three closed ones after it and the open one.
DAYS = st.integers(min_value=0, max_value=150)
SIGN_INS = st.lists(st.tuples(st.integers(0, 4), DAYS, st.integers(0, 23)), max_size=25)
MESSAGES = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 2), DAYS, st.integers(0, 3), st.booleans()),
    max_size=25,
)
# (first day's offset, or None for a period ending today as the page's default does;
# length in days; where since falls, as a fraction of it).
PERIODS = st.tuples(st.one_of(st.none(), DAYS), st.integers(1, 150), st.floats(0, 1))


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sign_ins=SIGN_INS, messages=MESSAGES, shape=PERIODS)
def test_figures_through_rollups_equal_the_raw_ones(small, monkeypatch, sign_ins, messages, shape):
    base = _month_start_before(4)
    people, threads = small["people"], small["threads"]
    with transaction.atomic():
        for person, day, hour in sign_ins:
            who = people[person]
            when = midnight_plus(base, day, hour)
            LoginEvent.objects.create(user=who, at=when, firm_staff=who.is_firm_staff)
        for person, thread, day, body, deleted in messages:
            when = midnight_plus(base, day, 9)
            written = message_at(threads[thread], people[person], when, BODIES[body])
            if deleted:
                Message.objects.filter(pk=written.pk).update(deleted_at=when, body="")
        first_offset, length, split = shape
        if first_offset is None:
            end = timezone.localdate() + dt.timedelta(days=1)
            first = end - dt.timedelta(days=length)
        else:
            first = base + dt.timedelta(days=first_offset)
            end = first + dt.timedelta(days=length)
        since = first + dt.timedelta(days=round(split * length))
        period = period_parse(
            first=first.isoformat(), end=end.isoformat(), since=since.isoformat(), today=None
        )
        expected = raw_figures(small["admin"], period, monkeypatch)
        days = raw_days(small["admin"], period, monkeypatch)
        assert figures(adoption(small["admin"], period)) == expected  # building
        assert logins_by_day(small["admin"], period) == days
        assert figures(adoption(small["admin"], period)) == expected  # reading
        assert logins_by_day(small["admin"], period) == days
        transaction.set_rollback(True)


def midnight_plus(base: dt.date, days: int, hour: int) -> dt.datetime:
    day = base + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(hour), tzinfo=timezone.get_default_timezone())


def message_at(thread, author, when: dt.datetime, body: str) -> Message:
    thread.last_seq += 1
    thread.save(update_fields=["last_seq"])
    return Message.objects.create(
        thread=thread,
        author=author,
        client_id=uuid.uuid4(),
        body=body,
        seq=thread.last_seq,
        created_at=when,
    )


def test_the_world_through_rollups_equals_raw_and_edges_count_once(world, monkeypatch):
    """Hand-checked: Ann's three sign-ins (25 Oct raw, 5 and 20 Nov rolled) are three, and
    Ann is one active user, whichever part each came from."""
    period = period_parse(first="2026-10-22", end="2026-12-01", since="2026-11-01", today=None)
    through = figures(adoption(world.admin, period))
    assert RolledMonth.objects.filter(month=D(2026, 11, 1)).count() == 2
    # Per day: Ann's 5 and 20 Nov, Ben's (switched off: taken off the day's total) 10 Nov
    # not, Gina's 30 Nov; 25 and 30 Oct raw.
    days = logins_by_day(world.admin, period)
    assert days == raw_days(world.admin, period, monkeypatch)
    assert [row["day"] for row in days] == [
        "2026-10-25",
        "2026-10-30",
        "2026-11-05",
        "2026-11-20",
        "2026-11-30",
    ]
    from insights.models import DailySignIns

    # The day's total holds everyone's client sign-ins: Dan's (switched off) and Zed's (an
    # archived account) of 6 and 10 Nov too.
    assert DailySignIns.objects.get(day=D(2026, 11, 10)).logins == 1
    assert MonthlySignIns.objects.get(user=world.people["a1"]).logins == 2
    assert through == raw_figures(world.admin, period, monkeypatch)
    acme = through[world.acme.public_id]
    assert (acme["logins"], acme["active_users"], acme["active_last_30_days"]) == (5, 3, 2)
    # Before 1 Nov: ticket 4 is not status, nothing else; after: tickets 1 and 3 and the
    # messages of 2, 20 and 25 Nov.
    assert (acme["status_questions_before"], acme["status_questions_after"]) == (0, 5)


@override_settings(TIME_ZONE="America/New_York")
def test_months_are_the_firms(world, monkeypatch):
    # 1 Nov 02:00 UTC is 31 Oct in New York: October's, and counted in a period from 1 Nov
    # only if read as UTC.
    login(world.people["a3"], "2026-11-01 02:00")
    period = period_parse(first="2026-09-01", end="2026-11-01", since="2026-10-01", today=None)
    through = figures(adoption(world.admin, period))
    assert through == raw_figures(world.admin, period, monkeypatch)
    assert MonthlySignIns.objects.get(user=world.people["a3"], month=D(2026, 10, 1)).logins == 1
    assert through[world.acme.public_id]["active_users"] == 3  # Ann, Ben, Cat


# --- what drops a month ---------------------------------------------------------------------

ROLLED = {"first": "2026-10-22", "end": "2026-12-01", "since": "2026-11-01", "today": None}


def test_editing_or_deleting_a_closed_months_message_drops_that_month(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    from messaging.services import message_delete, message_edit

    period = period_parse(**ROLLED)
    adoption(world.admin, period)
    assert MonthlyMessages.objects.filter(month=D(2026, 11, 1)).exists()
    ann = world.people["a1"]
    edited = Message.objects.get(author=ann, body="ANY UPDATE?")
    with django_capture_on_commit_callbacks(execute=True):
        message_edit(actor=ann, message_id=edited.public_id, body="Thanks, all clear.")
    assert not RolledMonth.objects.filter(source="messages", month=D(2026, 11, 1)).exists()
    assert not MonthlyMessages.objects.filter(month=D(2026, 11, 1)).exists()
    # Sign-ins of the month are not touched.
    assert RolledMonth.objects.filter(source="sign_ins", month=D(2026, 11, 1)).exists()
    acme = figures(adoption(world.admin, period))[world.acme.public_id]
    assert acme["status_questions_after"] == 4
    assert figures(adoption(world.admin, period)) == raw_figures(world.admin, period, monkeypatch)

    deleted = Message.objects.get(author=ann, body__startswith="Hi, where are we")
    with django_capture_on_commit_callbacks(execute=True):
        message_delete(actor=ann, message_id=deleted.public_id)
    assert not RolledMonth.objects.filter(source="messages", month=D(2026, 11, 1)).exists()
    acme = figures(adoption(world.admin, period))[world.acme.public_id]
    assert (acme["messages_client"], acme["status_questions_after"]) == (4, 3)
    assert figures(adoption(world.admin, period)) == raw_figures(world.admin, period, monkeypatch)


def test_a_message_of_the_open_month_drops_nothing_and_costs_no_query(
    world, django_assert_num_queries
):
    from insights.receivers import message_rollups_drop

    adoption(world.admin, period_parse(**ROLLED))
    sent = message(world.records["general"], world.people["a1"], "2026-11-05 10:00", "hello")
    sent.created_at = timezone.now()
    with django_assert_num_queries(0):
        message_rollups_drop(None, message=sent)
    assert RolledMonth.objects.filter(source="messages").count() == 1


def test_changing_the_status_phrases_drops_every_months_messages(world, monkeypatch):
    from insights.services import status_phrases_set

    period = period_parse(**ROLLED)
    adoption(world.admin, period)
    status_phrases_set(actor=world.admin, phrases=["anyupdate"])
    assert not RolledMonth.objects.filter(source="messages").exists()
    assert not MonthlyMessages.objects.exists()
    assert RolledMonth.objects.filter(source="sign_ins").exists()
    acme = figures(adoption(world.admin, period))[world.acme.public_id]
    # Tickets 1 and 3, and the "anyupdate here" of 21 Nov.
    assert acme["status_questions_after"] == 3
    assert figures(adoption(world.admin, period)) == raw_figures(world.admin, period, monkeypatch)


def test_phrases_changed_another_way_are_noticed_by_their_fingerprint(world, monkeypatch):
    period = period_parse(**ROLLED)
    adoption(world.admin, period)
    StatusPhrase.objects.create(phrase="anyupdate")  # as the shell or admin would
    acme = figures(adoption(world.admin, period))[world.acme.public_id]
    assert acme["status_questions_after"] == 6
    assert figures(adoption(world.admin, period)) == raw_figures(world.admin, period, monkeypatch)


def test_a_status_category_change_shows_at_once(world, monkeypatch):
    """Status tickets are read from the tickets themselves, never rolled up, so a category's
    flag needs no rollup dropped: the figures follow it on the next read."""
    from support.services.categories import category_update

    period = period_parse(**ROLLED)
    adoption(world.admin, period)
    technical = world.records["t2"].category
    category_update(actor=world.admin, category=technical, is_status=True)
    acme = figures(adoption(world.admin, period))[world.acme.public_id]
    # Ticket 2 (17 Nov) is now a status question too.
    assert acme["status_questions_after"] == 6
    assert figures(adoption(world.admin, period)) == raw_figures(world.admin, period, monkeypatch)
    assert RolledMonth.objects.filter(source="messages").count() == 1


def test_a_sign_in_behind_a_rolled_month_is_not_seen_until_it_is_dropped(world):
    """Sign-ins are append-only: one written into a closed month (only data loading does
    that) stays out of its rollup until the month is dropped."""
    period = period_parse(**ROLLED)
    before = figures(adoption(world.admin, period))[world.acme.public_id]["logins"]
    logins_by_day(world.admin, period)
    login(world.people["a3"], "2026-11-15 10:00")
    assert figures(adoption(world.admin, period))[world.acme.public_id]["logins"] == before
    days = {row["day"]: row["logins"] for row in logins_by_day(world.admin, period)}
    assert "2026-11-15" not in days
    rollups.sign_ins_drop(months=[D(2026, 11, 1)])
    assert figures(adoption(world.admin, period))[world.acme.public_id]["logins"] == before + 1
    days = {row["day"]: row["logins"] for row in logins_by_day(world.admin, period)}
    assert days["2026-11-15"] == 1
    assert LoginEvent.objects.filter(at__gte=at("2026-11-01 00:00")).exists()
