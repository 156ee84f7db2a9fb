"""Ticket services (``support.services``): opening (thread, first message, routing,
targets, clock, event, notification), the rules of replies however they arrive, status
transitions, reassigning, priority changes, and bad input refused with nothing written."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest

from accounts.errors import Conflict, Forbidden, Invalid, NotFound
from messaging import services as messaging_services
from messaging.models import Event, Message, Notification, Thread
from messaging.signals import message_changed
from support import receivers, signals
from support.models import Ticket
from support.services import ticket_open, ticket_reply, ticket_update
from tests import factories


def frames(ticket, kind: str | None = None) -> list[dict]:
    rows = Event.objects.filter(thread=ticket.thread).order_by("seq")
    if kind:
        rows = rows.filter(type=kind)
    return [json.loads(row.frame) for row in rows]


def reloaded(ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


@pytest.fixture
def opened(acme, people, help_desk, frozen, office_hours, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return factories.ticket(
            acme, by=people["client_member"], category=help_desk, subject="Login fails"
        )


# --- opening -------------------------------------------------------------------------------


def test_opening_makes_a_thread_a_first_message_and_an_event(opened, acme, people):
    thread = opened.thread
    assert thread.account == acme
    assert thread.title == "Login fails"
    assert not thread.privileged
    first = Message.objects.get(thread=thread)
    assert (first.author, first.body) == (people["client_member"], "Please help.")
    assert opened.reply_seq == first.seq
    (event,) = frames(opened, "ticket.opened")
    assert event["ticket"]["id"] == opened.public_id
    assert event["ticket"]["status"] == "open"
    assert event["by"]["id"] == people["client_member"].public_id


def test_opening_routes_copies_targets_and_starts_the_clock(opened, people, frozen):
    assert opened.assignee == people["staff_on_team"]  # the account team's fallback
    assert (opened.first_response_target, opened.resolution_target) == (60, 480)
    assert opened.sla_running_since == frozen.value
    assert opened.first_response_due_at == frozen.value + timedelta(hours=1)
    # Monday 10:00 + 8 business hours (9-17) is Tuesday 10:00.
    assert opened.resolution_due_at == frozen.value + timedelta(days=1)


def test_opening_notifies_the_assignee_only(opened, people):
    told = Notification.objects.filter(kind="ticket").values_list("user", flat=True)
    assert list(told) == [people["staff_on_team"].pk]


def test_the_changed_signal_goes_after_the_commit(
    acme, people, help_desk, django_capture_on_commit_callbacks
):
    heard = []

    def receiver(sender, ticket, **kwargs):
        heard.append(ticket.public_id)

    signals.ticket_changed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            made = factories.ticket(acme, by=people["client_member"], category=help_desk)
        assert heard == []
        for callback in callbacks:
            callback()
        assert heard == [made.public_id]
    finally:
        signals.ticket_changed.disconnect(receiver)


def test_a_category_of_the_account_is_offered_and_others_are_not(acme, globex, people):
    own = factories.category("Acme only", account=acme)
    theirs = factories.category("Globex only", account=globex)
    archived = factories.category("Old")
    archived.archived = True
    archived.save()
    assert factories.ticket(acme, by=people["client_admin"], category=own).category == own
    for category in (theirs, archived, "cat_doesnotexist0000000000", 12):
        with pytest.raises(Invalid) as refused:
            factories.ticket(acme, by=people["client_admin"], category=category)
        assert refused.value.fields == {"category": "unknown"}


@pytest.mark.parametrize(
    ("given", "fields"),
    [
        ({"subject": "  "}, {"subject": "required"}),
        ({"subject": "x" * 201}, {"subject": "too_long"}),
        ({"subject": 5}, {"subject": "type"}),
        ({"body": " "}, {"body": "required"}),
        ({"body": None}, {"body": "type"}),
        ({"category": None}, {"category": "required"}),
        ({"priority": "asap"}, {"priority": "invalid"}),
        (
            {"subject": "", "body": "", "priority": "x"},
            {"subject": "required", "body": "required", "priority": "invalid"},
        ),
    ],
)
def test_bad_input_names_each_field_and_writes_nothing(acme, people, help_desk, given, fields):
    data = {"category": help_desk, "subject": "Login", "body": "It fails.", **given}
    before = (Ticket.objects.count(), Thread.objects.count(), Message.objects.count())
    with pytest.raises(Invalid) as refused:
        ticket_open(actor=people["client_member"], account=acme, **data)
    assert refused.value.fields == fields
    assert (Ticket.objects.count(), Thread.objects.count(), Message.objects.count()) == before


@pytest.mark.parametrize("role", ["staff_off_team", "other_client"])
def test_who_cannot_see_the_account_cannot_open_for_it(acme, people, help_desk, role):
    with pytest.raises(NotFound):
        factories.ticket(acme, by=people[role], category=help_desk)


@pytest.mark.parametrize("role", ["firm_admin", "staff_on_team", "client_admin", "client_member"])
def test_the_account_s_people_and_its_team_open_tickets(acme, people, help_desk, role):
    assert factories.ticket(acme, by=people[role], category=help_desk).status == "open"


# --- replies -------------------------------------------------------------------------------


def test_the_first_staff_reply_records_the_response_and_waits_on_the_client(opened, people, frozen):
    frozen.move(minutes=25)
    sent = ticket_reply(actor=people["staff_on_team"], ticket=opened, body="Try again?")
    found = reloaded(opened)
    assert found.status == "waiting_on_client"
    assert found.first_response_at == frozen.value
    assert found.first_response_seconds == 25 * 60
    assert found.sla_running_since is None  # paused
    assert found.sla_used_seconds == 25 * 60
    assert (found.first_response_due_at, found.resolution_due_at) == (None, None)
    assert found.reply_seq == sent.seq
    (update,) = frames(opened, "ticket.updated")
    assert update["changes"]["status"] == {"from": "open", "to": "waiting_on_client"}
    # The caller's object is up to date too.
    assert opened.status == "waiting_on_client"


def test_a_staff_member_may_keep_it_waiting_on_the_firm(opened, people):
    ticket_reply(
        actor=people["staff_on_team"], ticket=opened, body="Looking", status="waiting_on_firm"
    )
    found = reloaded(opened)
    assert found.status == "waiting_on_firm"
    assert found.first_response_at is not None
    assert found.sla_running_since is not None


def test_a_client_reply_resumes_the_clock_keeping_the_used_seconds(opened, people, frozen):
    frozen.move(minutes=30)
    ticket_reply(actor=people["staff_on_team"], ticket=opened, body="Which browser?")
    frozen.move(hours=20)  # Tuesday 06:30: the pause counts nothing
    frozen.move(hours=3)  # Tuesday 09:30
    ticket_reply(actor=people["client_member"], ticket=opened, body="Firefox")
    found = reloaded(opened)
    assert found.status == "waiting_on_firm"
    assert found.sla_used_seconds == 30 * 60
    assert found.sla_running_since == frozen.value
    # 480 - 30 = 450 business minutes from Tuesday 09:30: Tuesday 17:00 is 450 minutes.
    assert found.resolution_due_at == frozen.value.replace(hour=17, minute=0)


def test_a_client_reply_to_an_open_ticket_keeps_it_open(opened, people):
    ticket_reply(actor=people["client_admin"], ticket=opened, body="Any news?")
    assert reloaded(opened).status == "open"


def test_a_client_reply_within_the_window_reopens_a_resolved_ticket(opened, people, frozen):
    ticket_update(actor=people["staff_on_team"], ticket=opened, status="resolved")
    found = reloaded(opened)
    found.resolution_warned_at = frozen.value
    found.save()
    frozen.move(days=6)
    ticket_reply(actor=people["client_member"], ticket=opened, body="It broke again")
    found = reloaded(opened)
    assert found.status == "waiting_on_firm"
    assert found.reopened_count == 1
    assert found.resolved_at is None
    assert found.resolution_warned_at is None
    assert found.sla_running_since == frozen.value


def test_a_reply_after_the_window_or_to_a_closed_ticket_is_refused(opened, people, frozen):
    ticket_update(actor=people["staff_on_team"], ticket=opened, status="resolved")
    frozen.move(days=7, seconds=1)
    messages = Message.objects.count()
    with pytest.raises(Conflict) as refused:
        ticket_reply(actor=people["client_member"], ticket=opened, body="Again")
    assert refused.value.code == "ticket_closed"
    assert "new ticket" in refused.value.message
    ticket_update(actor=people["staff_on_team"], ticket=opened, status="closed")
    with pytest.raises(Conflict):
        ticket_reply(actor=people["staff_on_team"], ticket=opened, body="Again")
    assert Message.objects.count() == messages


def test_a_retried_reply_is_stored_and_applied_once(opened, people):
    client_id = uuid.uuid4()
    first = ticket_reply(
        actor=people["staff_on_team"], ticket=opened, body="A", client_id=client_id
    )
    again = ticket_reply(
        actor=people["staff_on_team"], ticket=opened, body="A", client_id=client_id
    )
    assert again.duplicate and again.seq == first.seq
    assert len(frames(opened, "ticket.updated")) == 1


def test_only_the_firm_sets_a_status_with_a_reply(opened, people):
    with pytest.raises(Forbidden):
        ticket_reply(actor=people["client_member"], ticket=opened, body="x", status="resolved")


@pytest.mark.parametrize("role", ["staff_off_team", "other_client"])
def test_who_cannot_see_the_ticket_cannot_reply(opened, people, role):
    with pytest.raises(NotFound):
        ticket_reply(actor=people[role], ticket=opened, body="Hi")


def test_a_message_sent_into_the_thread_otherwise_follows_the_same_rules(
    opened, people, django_capture_on_commit_callbacks
):
    ticket_reply(actor=people["staff_on_team"], ticket=opened, body="Which browser?")
    with django_capture_on_commit_callbacks(execute=True):
        sent = messaging_services.message_send(
            actor=people["client_member"],
            thread_id=opened.thread.public_id,
            client_id=uuid.uuid4(),
            body="Firefox",
        )
    found = reloaded(opened)
    assert found.status == "waiting_on_firm"
    assert found.reply_seq == sent.seq
    # The signal heard twice (an edit, a second worker) changes nothing more.
    message = Message.objects.select_related("thread", "author").get(public_id=sent.message_id)
    updates = len(frames(opened, "ticket.updated"))
    message_changed.send(sender=None, message=message)
    assert len(frames(opened, "ticket.updated")) == updates


def test_a_send_not_yet_applied_is_applied_before_the_next_reply(opened, people, frozen):
    """A socket's send whose rules have not run yet (its commit's signal is still to come,
    or it lost the race for the ticket's lock) is not skipped by a later reply."""
    frozen.move(minutes=5)
    messaging_services.message_send(
        actor=people["staff_on_team"],
        thread_id=opened.thread.public_id,
        client_id=uuid.uuid4(),
        body="Which browser?",
    )  # no on-commit callbacks run here: the receiver has not seen it
    frozen.move(minutes=5)
    ticket_reply(actor=people["client_member"], ticket=opened, body="Firefox")
    found = reloaded(opened)
    assert found.first_response_at is not None
    assert found.status == "waiting_on_firm"
    (update,) = frames(opened, "ticket.updated")
    assert update["changes"]["status"] == {"from": "open", "to": "waiting_on_firm"}


def test_a_message_in_any_other_thread_costs_one_lookup(acme, people, django_assert_num_queries):
    thread = Thread.objects.get(account=acme, is_general=True)
    message = Message(thread=thread, author=people["client_member"], seq=5, body="Hi")
    with django_assert_num_queries(1):
        receivers.ticket_reply_arrived(sender=None, message=message)


# --- changes by hand -----------------------------------------------------------------------


def test_resolving_records_the_resolution_and_stops_the_clock(opened, people, frozen):
    frozen.move(hours=2)
    ticket_update(actor=people["staff_on_team"], ticket=opened, status="resolved")
    found = reloaded(opened)
    assert found.resolved_at == frozen.value
    assert found.resolution_seconds == 2 * 3600
    assert found.sla_running_since is None
    assert found.resolution_due_at is None
    assert not found.resolution_breached


def test_closing_records_when(opened, people, frozen):
    ticket_update(actor=people["staff_on_team"], ticket=opened, status="closed")
    found = reloaded(opened)
    assert found.closed_at == frozen.value
    assert found.sla_running_since is None
    with pytest.raises(Invalid) as refused:
        ticket_update(actor=people["staff_on_team"], ticket=opened, status="open")
    assert refused.value.code == "bad_transition"


def test_an_unknown_status_or_priority_is_refused_and_nothing_changes(opened, people):
    with pytest.raises(Invalid) as refused:
        ticket_update(actor=people["staff_on_team"], ticket=opened, status="done", priority="asap")
    assert refused.value.fields == {"status": "invalid", "priority": "invalid"}
    assert reloaded(opened).status == "open"
    assert frames(opened, "ticket.updated") == []


def test_a_new_priority_takes_its_targets_keeping_the_used_seconds(opened, people, frozen):
    frozen.move(minutes=10)
    ticket_update(actor=people["staff_on_team"], ticket=opened, priority="urgent")
    found = reloaded(opened)
    assert (found.first_response_target, found.resolution_target) == (15, 120)
    start = found.sla_running_since
    assert found.first_response_due_at == start + timedelta(minutes=15)
    (update,) = frames(opened, "ticket.updated")
    assert update["changes"] == {"priority": {"from": "normal", "to": "urgent"}}
    ticket_update(actor=people["staff_on_team"], ticket=opened, priority="low")
    found = reloaded(opened)
    assert (found.first_response_due_at, found.resolution_due_at) == (None, None)


def test_reassigning_notifies_the_new_assignee(opened, people):
    ticket_update(actor=people["staff_on_team"], ticket=opened, assignee=people["firm_admin"])
    assert reloaded(opened).assignee == people["firm_admin"]
    told = Notification.objects.filter(kind="ticket", user=people["firm_admin"])
    assert told.count() == 1
    (update,) = frames(opened, "ticket.updated")
    assert update["changes"]["assignee"]["to"]["id"] == people["firm_admin"].public_id
    ticket_update(actor=people["staff_on_team"], ticket=opened, assignee=None)
    assert reloaded(opened).assignee is None


@pytest.mark.parametrize("role", ["staff_off_team", "client_admin"])
def test_only_active_staff_seeing_the_account_can_be_assigned(opened, people, role):
    with pytest.raises(Invalid) as refused:
        ticket_update(actor=people["firm_admin"], ticket=opened, assignee=people[role])
    assert refused.value.fields == {"assignee": "not_eligible"}


def test_a_client_may_close_their_own_ticket_and_reopen_it(opened, people):
    ticket_update(actor=people["staff_on_team"], ticket=opened, status="resolved")
    ticket_update(actor=people["client_member"], ticket=opened, status="open")
    found = reloaded(opened)
    assert found.status == "waiting_on_firm"
    assert found.reopened_count == 1
    ticket_update(actor=people["client_member"], ticket=opened, status="closed")
    assert reloaded(opened).status == "closed"


@pytest.mark.parametrize(
    ("role", "change"),
    [
        ("client_member", {"priority": "urgent"}),
        ("client_member", {"assignee": None}),
        ("client_member", {"status": "resolved"}),
        ("client_member", {"status": "waiting_on_client"}),
        ("client_admin", {"status": "closed"}),  # not theirs
    ],
)
def test_what_a_client_may_not_change(opened, people, role, change):
    with pytest.raises(Forbidden):
        ticket_update(actor=people[role], ticket=opened, **change)
    assert reloaded(opened).status == "open"


@pytest.mark.parametrize("role", ["staff_off_team", "other_client"])
def test_who_cannot_see_the_ticket_cannot_change_it(opened, people, role):
    with pytest.raises(NotFound):
        ticket_update(actor=people[role], ticket=opened, status="closed")


def test_a_client_reopening_after_the_window_is_refused(opened, people, frozen):
    ticket_update(actor=people["staff_on_team"], ticket=opened, status="resolved")
    frozen.move(days=8)
    with pytest.raises(Conflict):
        ticket_update(actor=people["client_member"], ticket=opened, status="open")
    ticket_update(actor=people["staff_on_team"], ticket=opened, status="open")
    assert reloaded(opened).reopened_count == 1
