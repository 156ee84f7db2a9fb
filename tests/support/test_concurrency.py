"""Tickets written at the same moment, on PostgreSQL (where writers really run at once): two
tickets routed to one queue at once take two turns, not the same one (the queue's row lock);
two replies at once each apply once (the ticket's row lock)."""

from __future__ import annotations

import pytest
from django.db import connection

from support.models import Queue, RoutingRule, Ticket
from support.services import ticket_reply
from tests import factories
from tests.concurrency import at_once

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 3


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")


@pytest.mark.parametrize("attempt", range(ROUNDS))
def test_two_tickets_at_once_take_two_turns(acme, people, attempt):
    help_desk = factories.category("Help")
    a = factories.staff(accounts=(acme,))
    b = factories.staff(accounts=(acme,))
    queue = Queue.objects.create(name=f"Engineering {attempt}")
    queue.members.set([a, b])
    RoutingRule.objects.create(name="All", queue=queue)
    opener = people["client_member"]
    results = at_once(
        lambda: factories.ticket(acme, by=opener, category=help_desk),
        lambda: factories.ticket(acme, by=opener, category=help_desk),
    )
    assert all(isinstance(r, Ticket) for r in results), results
    assert {r.assignee_id for r in results} == {a.pk, b.pk}


@pytest.mark.parametrize("attempt", range(ROUNDS))
def test_two_replies_at_once_each_apply_once(acme, people, attempt):
    ticket = factories.ticket(acme, by=people["client_member"], category=factories.category())
    results = at_once(
        lambda: ticket_reply(actor=people["staff_on_team"], ticket=ticket, body="One"),
        lambda: ticket_reply(actor=people["firm_admin"], ticket=ticket, body="Two"),
    )
    assert not [r for r in results if isinstance(r, BaseException)], results
    found = Ticket.objects.get(pk=ticket.pk)
    assert found.reply_seq == max(r.seq for r in results)
    assert found.status == "waiting_on_client"
    # One first response, whichever reply came first.
    assert found.first_response_at is not None
