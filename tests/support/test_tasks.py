"""Breach warnings (``support.tasks``), time frozen: a warning comes once the running due
time is within the lead, only once, to the assignee (the account team when unassigned);
passing the due time marks the target breached; paused clocks warn of nothing; each change
queues the run for the ticket's next moment and each run queues the next one."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django_tasks_db.models import DBTaskResult

from messaging.models import Event, Notification
from support import tasks
from support.models import Ticket
from support.services import ticket_reply, ticket_update
from tests import factories

TASK = "support.tasks.sla_warnings"


def warnings_of(ticket) -> list[dict]:
    rows = Event.objects.filter(thread=ticket.thread, type="ticket.sla_warning").order_by("seq")
    return [json.loads(row.frame) for row in rows]


def queued() -> list:
    return sorted(DBTaskResult.objects.filter(task_path=TASK).values_list("run_after", flat=True))


@pytest.fixture
def opened(acme, people, help_desk, frozen, office_hours, django_capture_on_commit_callbacks):
    """Opened Monday 10:00 UTC: first response due 11:00, resolution Tuesday 10:00; the
    firm warns 60 minutes ahead."""
    with django_capture_on_commit_callbacks(execute=True):
        return factories.ticket(acme, by=people["client_member"], category=help_desk)


def run(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return tasks.sla_warnings.call()


def test_opening_queues_the_first_warning_moment(opened, frozen):
    assert queued() == [frozen.value]  # first response due 11:00, warned from 10:00


def test_the_warning_comes_at_the_lead_and_only_once(
    opened, people, frozen, django_capture_on_commit_callbacks
):
    Ticket.objects.filter(pk=opened.pk).update(
        first_response_due_at=frozen.value + timedelta(hours=2)
    )
    assert run(django_capture_on_commit_callbacks) == {"warned": 0, "breached": 0, "closed": 0}
    frozen.move(minutes=59)  # 10:59: still 61 minutes ahead
    assert run(django_capture_on_commit_callbacks)["warned"] == 0
    frozen.move(minutes=1)  # 11:00: due within the lead
    assert run(django_capture_on_commit_callbacks) == {"warned": 1, "breached": 0, "closed": 0}
    assert run(django_capture_on_commit_callbacks) == {"warned": 0, "breached": 0, "closed": 0}
    (warning,) = warnings_of(opened)
    assert warning["targets"] == [
        {
            "target": "first_response",
            "due_at": (frozen.value + timedelta(hours=1)).isoformat(),
            "breached": False,
        }
    ]
    assert warning["ticket"]["id"] == opened.public_id
    told = Notification.objects.filter(kind="ticket_sla").values_list("user", flat=True)
    assert list(told) == [people["staff_on_team"].pk]
    assert Ticket.objects.get(pk=opened.pk).first_response_warned_at == frozen.value


def test_passing_the_due_time_marks_the_breach_once(
    opened, frozen, django_capture_on_commit_callbacks
):
    frozen.move(minutes=1)
    run(django_capture_on_commit_callbacks)  # the warning
    frozen.move(minutes=59)  # 11:00, due now
    assert run(django_capture_on_commit_callbacks) == {"warned": 0, "breached": 1, "closed": 0}
    assert run(django_capture_on_commit_callbacks) == {"warned": 0, "breached": 0, "closed": 0}
    found = Ticket.objects.get(pk=opened.pk)
    assert found.first_response_breached
    assert [w["targets"][0]["breached"] for w in warnings_of(opened)] == [False, True]


def test_a_run_queues_the_next_moment(opened, frozen, django_capture_on_commit_callbacks):
    DBTaskResult.objects.all().delete()
    run(django_capture_on_commit_callbacks)  # warns of the first response (due 11:00)
    assert queued() == [frozen.value + timedelta(hours=1)]  # its breach


def test_a_paused_clock_warns_of_nothing(
    opened, people, frozen, django_capture_on_commit_callbacks
):
    ticket_reply(actor=people["staff_on_team"], ticket=opened, body="Which browser?")
    frozen.move(days=3)
    assert run(django_capture_on_commit_callbacks) == {"warned": 0, "breached": 0, "closed": 0}
    assert warnings_of(opened) == []


def test_an_unassigned_ticket_warns_the_account_team(
    opened, people, frozen, django_capture_on_commit_callbacks
):
    second = factories.staff(accounts=(opened.account,))
    ticket_update(actor=people["firm_admin"], ticket=opened, assignee=None)
    frozen.move(minutes=1)
    run(django_capture_on_commit_callbacks)
    told = set(Notification.objects.filter(kind="ticket_sla").values_list("user", flat=True))
    assert told == {people["staff_on_team"].pk, second.pk}


def test_a_reopened_ticket_may_be_warned_of_its_resolution_again(
    opened, people, frozen, django_capture_on_commit_callbacks
):
    ticket_reply(actor=people["staff_on_team"], ticket=opened, body="Done", status="resolved")
    Ticket.objects.filter(pk=opened.pk).update(resolution_warned_at=frozen.value)
    ticket_reply(actor=people["client_member"], ticket=opened, body="Not quite")
    found = Ticket.objects.get(pk=opened.pk)
    assert found.resolution_warned_at is None
    frozen.move(hours=23)  # Tuesday 09:00: resolution due 10:00 (8 business hours used 0)
    assert run(django_capture_on_commit_callbacks)["warned"] == 1


def test_a_resolved_ticket_is_closed_when_its_reopen_window_ends(
    opened, people, frozen, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket_update(actor=people["staff_on_team"], ticket=opened, status="resolved")
    resolved_at = frozen.value
    assert resolved_at + timedelta(days=7, seconds=1) in queued()
    frozen.move(days=7)
    assert run(django_capture_on_commit_callbacks)["closed"] == 0  # the window's last second
    frozen.move(seconds=1)
    assert run(django_capture_on_commit_callbacks)["closed"] == 1
    assert run(django_capture_on_commit_callbacks)["closed"] == 0
    found = Ticket.objects.get(pk=opened.pk)
    assert (found.status, found.closed_at) == ("closed", frozen.value)
    frames = [
        json.loads(row.frame)
        for row in Event.objects.filter(thread=opened.thread, type="ticket.updated")
    ]
    assert frames[-1]["changes"] == {"status": {"from": "resolved", "to": "closed"}}
    assert frames[-1]["by"] is None
