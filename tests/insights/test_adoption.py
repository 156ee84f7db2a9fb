"""Every figure of the hand-checked world (tests/insights/conftest.py), computed by hand."""

from __future__ import annotations

import pytest

from accounts.errors import Forbidden, NotFound
from insights.selectors.adoption import FIGURES, adoption
from tests import factories


def rows_by_name(result) -> dict:
    return {row["name"]: row for row in result.accounts}


def test_archived_accounts_are_left_out_and_the_rest_come_by_name(world):
    result = adoption(world.admin, world.period)
    assert [row["name"] for row in result.accounts] == ["Acme", "Globex", "Initech"]
    assert all(set(FIGURES) <= set(row) for row in result.accounts)


def test_sign_ins_and_the_active_share(world):
    acme = rows_by_name(adoption(world.admin, world.period))["Acme"]
    # Ann, Ben, Cat and Gina (Dan is switched off): Ann 3 and Ben 1 and Gina 1 sign-ins.
    assert acme["client_users"] == 4
    assert acme["logins"] == 5
    assert acme["active_users"] == 3
    # Since 2026-11-01: Ann and Gina. 2 of 4 is under the 60 % bar.
    assert acme["active_last_30_days"] == 2
    assert acme["active_share"] == 0.5
    assert acme["below_bar"] is True


def test_an_account_where_everyone_came_is_above_the_bar_and_one_without_people_has_no_share(
    world,
):
    rows = rows_by_name(adoption(world.admin, world.period))
    globex = rows["Globex"]
    assert (globex["client_users"], globex["logins"], globex["active_users"]) == (1, 1, 1)
    assert globex["active_share"] == 1.0 and globex["below_bar"] is False
    initech = rows["Initech"]
    assert initech["client_users"] == 0 and initech["logins"] == 0
    assert initech["active_share"] is None and initech["below_bar"] is False
    assert initech["median_resolution_hours"] is None


def test_the_firm_counts_each_person_once(world):
    firm = adoption(world.admin, world.period).firm
    # Gina is in two accounts: 4 people, not 5; the staff's and the archived client's sign-ins
    # are not counted.
    assert firm["client_users"] == 4
    assert firm["logins"] == 5
    assert firm["active_users"] == 3
    assert firm["active_last_30_days"] == 2
    assert firm["active_share"] == 0.5 and firm["below_bar"] is True


def test_messages_per_side_and_status_questions_before_and_after(world):
    acme = rows_by_name(adoption(world.admin, world.period))["Acme"]
    # Client: 11-02, 11-20, 11-21, 11-25, and the one in ticket 3's thread (11-18); the deleted
    # one and the one before the period are not counted. Firm: 11-03.
    assert acme["messages_client"] == 5
    assert acme["messages_firm"] == 1
    # Before 11-16: ticket 1 and "where are we" of 11-02 (the staff's does not count).
    # After: ticket 3, "ANY UPDATE?" and "Any updates" (not "anyupdate", nor the phrase in
    # ticket 3's own thread).
    assert acme["status_questions_before"] == 2
    assert acme["status_questions_after"] == 3


def test_ticket_times_are_percentiles_with_linear_interpolation(world):
    acme = rows_by_name(adoption(world.admin, world.period))["Acme"]
    assert acme["tickets_opened"] == 3
    # First responses in the period: 2, 4, 10 h; p90 at position 1.8: 4 + 0.8 x 6.
    assert acme["median_first_response_hours"] == 4.0
    assert acme["p90_first_response_hours"] == 8.8
    # Resolved in the period: 24, 48 and 768 h (ticket 4, opened before it).
    assert acme["median_resolution_hours"] == 48.0
    assert acme["p90_resolution_hours"] == 624.0


def test_tasks_approvals_and_signatures_turnaround(world):
    rows = rows_by_name(adoption(world.admin, world.period))
    acme = rows["Acme"]
    # Done in the period: 6, 12, 24, 840 h; median at 1.5: 18; p90 at 2.7: 24 + 0.7 x 816.
    assert acme["tasks_done"] == 4
    assert acme["median_task_hours"] == 18.0
    assert acme["p90_task_hours"] == 595.2
    # Decided: 48 h and 12 h (the withdrawn and the open one are not).
    assert acme["approvals_decided"] == 2
    assert acme["median_approval_hours"] == 30.0
    assert acme["signatures_completed"] == 0 and acme["median_signature_hours"] is None
    assert rows["Globex"]["signatures_completed"] == 1
    assert rows["Globex"]["median_signature_hours"] == 30.0


def test_the_firm_row_holds_every_account(world):
    firm = adoption(world.admin, world.period).firm
    assert (firm["messages_client"], firm["messages_firm"]) == (5, 1)
    assert (firm["status_questions_before"], firm["status_questions_after"]) == (2, 3)
    assert firm["median_first_response_hours"] == 4.0
    assert firm["p90_resolution_hours"] == 624.0
    assert firm["median_task_hours"] == 18.0
    assert firm["median_approval_hours"] == 30.0
    assert firm["median_signature_hours"] == 30.0


def test_one_account_alone(world):
    result = adoption(world.admin, world.period, account=world.globex)
    assert [row["name"] for row in result.accounts] == ["Globex"]
    assert result.firm["client_users"] == 1 and result.firm["logins"] == 1


def test_the_since_date_moves_questions_between_before_and_after(world):
    from insights.period import period_parse

    late = period_parse(first="2026-10-22", end="2026-12-01", since="2026-12-01", today=None)
    acme = rows_by_name(adoption(world.admin, late))["Acme"]
    assert (acme["status_questions_before"], acme["status_questions_after"]) == (5, 0)


def test_status_phrases_are_the_firms_and_their_punctuation_is_literal(world):
    from insights.models import StatusPhrase
    from tests.insights.conftest import message

    StatusPhrase.objects.all().delete()
    StatusPhrase.objects.create(phrase="=HYPERLINK(")
    StatusPhrase.objects.create(phrase="eta?")
    general = world.records["general"]
    message(general, world.people["a1"], "2026-11-02 10:00", "=hyperlink( and more")
    message(general, world.people["a1"], "2026-11-20 10:00", "What's the ETA? thanks")
    message(general, world.people["a1"], "2026-11-20 11:00", "beta testing")  # not "eta?"
    message(general, world.people["a1"], "2026-11-20 12:00", "=HYPERLINKS")
    acme = rows_by_name(adoption(world.admin, world.period))["Acme"]
    # Tickets 1 and 3, plus one message each side.
    assert (acme["status_questions_before"], acme["status_questions_after"]) == (2, 2)


def test_without_phrases_only_tickets_are_status_questions(world):
    from insights.models import StatusPhrase

    StatusPhrase.objects.all().delete()
    acme = rows_by_name(adoption(world.admin, world.period))["Acme"]
    assert (acme["status_questions_before"], acme["status_questions_after"]) == (1, 1)


@pytest.mark.parametrize("who", ["staff_on_team", "client_admin", "client_member"])
def test_only_firm_admins_read_the_figures(people, who):
    expected = Forbidden if who.startswith("staff") else NotFound
    from insights.period import period_parse

    period = period_parse(first=None, end=None, since=None, today=factories_today())
    with pytest.raises(expected):
        adoption(people[who], period)


def factories_today():
    import datetime as dt

    return dt.date(2026, 12, 7)


def _grow(world) -> None:
    """Three more accounts with a person, a sign-in, a message and a ticket each, in the
    period's partial October and in its rolled-up November."""
    from messaging.services import thread_ensure_general
    from tests.insights.conftest import login, message, ticket

    for n in range(3):
        account = factories.account(f"More {n}")
        person = factories.client(account)
        general = thread_ensure_general(account)
        for when in ("2026-10-25 10:00", "2026-11-20 10:00"):
            login(person, when)
            message(general, person, when, "any news?")
        category = world.records["t1"].category
        ticket(account, category, person, "2026-11-20 10:00", answered="2026-11-20 12:00")


def _rollups_drop() -> None:
    from insights.models import MonthlyMessages, MonthlySignIns, RolledMonth

    RolledMonth.objects.all().delete()
    MonthlySignIns.objects.all().delete()
    MonthlyMessages.objects.all().delete()


def test_queries_do_not_grow_with_accounts_people_and_records(world, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from insights.period import period_parse

    # Within one month: nothing rolled up, no rollup query.
    november = period_parse(first="2026-11-02", end="2026-11-28", since=None, today=None)
    with django_assert_num_queries(13):
        adoption(world.admin, november)
    # October before since, November after it, both closed: the first read builds their
    # rollups...
    rolled = period_parse(first="2026-09-15", end="2026-12-01", since="2026-11-01", today=None)
    with CaptureQueriesContext(connection) as building:
        adoption(world.admin, rolled)
    # ...the next ones read them: the months' state, and the messages' rollup rows.
    with django_assert_num_queries(15):
        adoption(world.admin, rolled)
    _grow(world)
    with django_assert_num_queries(13):
        adoption(world.admin, november)
    with django_assert_num_queries(15):
        result = adoption(world.admin, rolled)
    assert len(result.accounts) == 6
    _rollups_drop()
    with CaptureQueriesContext(connection) as rebuilding:
        adoption(world.admin, rolled)
    assert len(rebuilding) == len(building) > 15
