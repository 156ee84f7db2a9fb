"""Ticket reads (``support.selectors``) and the ticket checks of ``accounts.permissions``:
views (mine, team, unassigned, breaching) and counts, categories offered, and query counts
that stay the same for one ticket and account or many."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import permissions
from accounts.errors import NotFound
from accounts.permissions import TicketAction
from support import selectors
from support.models import Queue, Ticket
from support.services import ticket_update
from tests import factories
from tests.factories import ROLES


@pytest.fixture
def ticket(acme, people, help_desk, frozen):
    return factories.ticket(acme, by=people["client_member"], category=help_desk)


# --- permissions ---------------------------------------------------------------------------

CAN = {
    TicketAction.VIEW: {"firm_admin", "staff_on_team", "client_admin", "client_member"},
    TicketAction.REPLY: {"firm_admin", "staff_on_team", "client_admin", "client_member"},
    TicketAction.CHANGE: {"firm_admin", "staff_on_team"},
    # client_member opened it.
    TicketAction.CLOSE: {"firm_admin", "staff_on_team", "client_member"},
}


@pytest.mark.parametrize("action", list(TicketAction))
@pytest.mark.parametrize("role", ROLES)
def test_the_ticket_permission_matrix(ticket, people, role, action):
    assert permissions.can_on_ticket(people[role], action, ticket) is (role in CAN[action])


@pytest.mark.parametrize("role", ROLES)
def test_who_may_open_a_ticket(acme, people, role):
    expected = role not in {"staff_off_team", "other_client"}
    assert permissions.can_open_ticket(people[role], acme) is expected


def test_an_unknown_action_is_a_mistake(ticket, people):
    with pytest.raises(ValueError, match="can_on_ticket"):
        permissions.can_on_ticket(people["firm_admin"], "delete", ticket)


def test_an_inactive_person_may_do_nothing(ticket, people):
    person = people["client_member"]
    person.is_active = False
    assert not permissions.can_on_ticket(person, TicketAction.VIEW, ticket)


@pytest.mark.parametrize("role", ROLES)
def test_ticket_for_is_not_found_for_those_who_cannot_see_it(ticket, people, role):
    if role in CAN[TicketAction.VIEW]:
        assert selectors.ticket_for(people[role], ticket.public_id) == ticket
    else:
        with pytest.raises(NotFound):
            selectors.ticket_for(people[role], ticket.public_id)
    with pytest.raises(NotFound):
        selectors.ticket_for(people[role], "tkt_missing00000000000000")


# --- views and counts ----------------------------------------------------------------------


def test_views_and_counts(acme, people, help_desk, frozen):
    staff = people["staff_on_team"]
    mine = factories.ticket(acme, by=people["client_member"], category=help_desk)
    loose = factories.ticket(acme, by=people["client_member"], category=help_desk)
    ticket_update(actor=people["firm_admin"], ticket=loose, assignee=None)
    done = factories.ticket(acme, by=people["client_member"], category=help_desk)
    ticket_update(actor=staff, ticket=done, status="resolved")
    queued_elsewhere = factories.ticket(
        factories.account("Queued"), by=people["firm_admin"], category=help_desk
    )
    engineering = Queue.objects.create(name="Engineering")
    engineering.members.add(staff)
    Ticket.objects.filter(pk=queued_elsewhere.pk).update(queue=engineering)

    def page(user, **given):
        return sorted(t.public_id for t in selectors.tickets_page(user, **given).rows)

    assert page(staff, view="mine") == [mine.public_id]
    # The team's: Acme's (their team) but the finished one; the queue's ticket is of an
    # account they do not see.
    assert page(staff, view="team") == sorted([loose.public_id, mine.public_id])
    assert page(staff, view="unassigned") == [loose.public_id]
    assert page(staff, view="mine", status="resolved") == [done.public_id]
    assert page(people["firm_admin"], view="team") == []
    # A client's "mine" is what they opened, unfinished.
    assert page(people["client_member"], view="mine") == sorted([loose.public_id, mine.public_id])
    assert selectors.queue_counts(staff) == {"mine": 1, "team": 2, "unassigned": 1, "breaching": 2}
    # First responses are due in 60 minutes, the firm warns 60 minutes ahead.
    assert page(staff, view="breaching") == sorted([loose.public_id, mine.public_id])
    assert page(staff, view="breaching", now=frozen.value - timedelta(minutes=1)) == []
    assert selectors.queue_counts(people["firm_admin"])["breaching"] == 3
    # Finished or not, for a client's list: open ones first, then the resolved and closed.
    client = people["client_member"]
    assert page(client, account=acme, done=False) == sorted([loose.public_id, mine.public_id])
    assert page(client, account=acme, done=True) == [done.public_id]


def test_categories_offered_to_an_account(acme, globex, people):
    first = factories.category("Zeta")
    first.position = 0
    first.save()
    second = factories.category("Alpha", account=acme, targets={"high": (30, None)})
    second.position = 1
    second.save()
    factories.category("Globex", account=globex)
    archived = factories.category("Old")
    archived.archived = True
    archived.save()
    found = selectors.categories_for(people["client_member"], acme)
    assert found == [first, second]
    assert selectors.category_json(second)["targets"] == {
        "high": {"first_response_minutes": 30, "resolution_minutes": None}
    }
    with pytest.raises(NotFound):
        selectors.categories_for(people["other_client"], acme)


# --- query counts --------------------------------------------------------------------------


def _json_all(rows):
    return [selectors.ticket_json(row) for row in rows]


def test_a_page_costs_the_same_for_one_ticket_or_many(
    acme, people, help_desk, django_assert_num_queries
):
    admin = people["firm_admin"]
    factories.ticket(acme, by=people["client_member"], category=help_desk)
    for view in (None, "mine", "team", "unassigned", "breaching"):
        with CaptureQueriesContext(connection) as one:
            _json_all(selectors.tickets_page(admin, view=view).rows)
        for n in range(3):
            other = factories.account(f"More {view} {n}")
            factories.staff(accounts=(other,))
            factories.ticket(other, by=admin, category=help_desk)
            factories.ticket(other, by=admin, category=factories.category())
        with django_assert_num_queries(len(one.captured_queries)):
            rows = selectors.tickets_page(admin, view=view).rows
            _json_all(rows)
        assert len(rows) > 1 or view in ("mine", "team", "unassigned")


def test_counts_and_categories_cost_the_same_for_few_or_many(
    acme, people, help_desk, django_assert_num_queries
):
    staff = people["staff_on_team"]
    factories.ticket(acme, by=people["client_member"], category=help_desk)
    with django_assert_num_queries(2):  # the settings, the counts
        selectors.queue_counts(staff)
    # The check (guardian: the person's grants and their groups'), the categories, targets.
    with django_assert_num_queries(4):
        found = selectors.categories_for(staff, acme)
        [selectors.category_json(c) for c in found]
    for n in range(4):
        factories.ticket(acme, by=people["client_member"], category=factories.category(f"C{n}"))
        factories.category(f"Own {n}", account=acme, targets={"normal": (5, 10)})
    with django_assert_num_queries(2):
        selectors.queue_counts(staff)
    with django_assert_num_queries(4):
        found = selectors.categories_for(staff, acme)
        [selectors.category_json(c) for c in found]
    assert len(found) == 9
