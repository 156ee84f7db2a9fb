"""The ticket pages (docs/support.md, "Pages"): the staff's queue and a client's list, opening
a ticket, a ticket's page and its changes, for every role; bad input answered 400 at its
field with nothing written; query counts that do not grow with the tickets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from support import services as tickets
from support.models import Ticket
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def help_category(db):
    return factories.category(
        "Technical question", targets={"normal": (60, 480), "high": (30, 240)}
    )


@pytest.fixture
def opened(acme, people, help_category):
    """Alex's ticket, given to Sam (on Acme's team) by hand."""
    ticket = factories.ticket(
        acme, by=people["client_admin"], category=help_category, subject="SSO broken"
    )
    tickets.ticket_update(
        actor=people["firm_admin"], ticket=ticket, assignee=people["staff_on_team"]
    )
    return ticket


def html(response) -> str:
    return response.content.decode()


def page(client, user, name, *args, query=""):
    client.force_login(user)
    return client.get(reverse(f"frontend:{name}", args=args) + query)


# --- who sees what ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("client_admin", 200),
        ("client_member", 200),
        ("staff_on_team", 200),
        ("firm_admin", 200),
        ("staff_off_team", 404),
        ("other_client", 404),
    ],
)
def test_a_tickets_page_by_role(client, people, opened, role, status):
    response = page(client, people[role], "ticket", opened.public_id)
    assert response.status_code == status
    if status == 200:
        body = html(response)
        assert "SSO broken" in body
        assert f'data-ticket-card="{opened.public_id}"' in body
        assert 'id="chat-data"' in body  # the conversation, live
        assert response.context["chat"]["thread"]["id"] == opened.thread.public_id


def test_signed_out_people_are_sent_to_sign_in(client, opened):
    for url in ("/tickets/", "/tickets/new/", f"/tickets/{opened.public_id}/"):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_staff_change_a_ticket_and_clients_may_not(client, people, opened):
    url = reverse("frontend:ticket_change", args=[opened.public_id])
    change = {"status": "waiting_on_client", "assignee": "", "priority": "high"}
    for role in ("client_admin", "client_member"):
        client.force_login(people[role])
        assert client.post(url, change).status_code == 404
        assert page(client, people[role], "ticket", opened.public_id).context["change_form"] is None
    for role in ("staff_off_team", "other_client"):
        client.force_login(people[role])
        assert client.post(url, change).status_code == 404
    opened.refresh_from_db()
    assert (opened.status, opened.priority) == ("open", "normal")

    client.force_login(people["staff_on_team"])
    response = client.post(url, change)
    assert response.status_code == 302
    opened.refresh_from_db()
    assert (opened.status, opened.priority, opened.assignee) == ("waiting_on_client", "high", None)


def test_a_ticket_is_reassigned_to_staff_who_see_the_account(client, people, opened):
    client.force_login(people["firm_admin"])
    form = page(client, people["firm_admin"], "ticket", opened.public_id).context["change_form"]
    offered = {value for value, _ in form.fields["assignee"].choices}
    assert people["staff_on_team"].public_id in offered
    assert people["firm_admin"].public_id in offered
    assert people["staff_off_team"].public_id not in offered
    assert people["client_admin"].public_id not in offered
    url = reverse("frontend:ticket_change", args=[opened.public_id])
    response = client.post(
        url,
        {"status": "open", "assignee": people["staff_off_team"].public_id, "priority": "normal"},
    )
    assert response.status_code == 400
    assert response.context["change_form"].errors["assignee"]
    opened.refresh_from_db()
    assert opened.assignee == people["staff_on_team"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"status": "sleeping"}, "status"),
        ({"priority": "whenever"}, "priority"),
        ({"status": "open\x00"}, "status"),
    ],
)
def test_a_bad_change_comes_back_at_its_field(client, people, opened, data, field):
    client.force_login(people["staff_on_team"])
    url = reverse("frontend:ticket_change", args=[opened.public_id])
    good = {"status": "open", "assignee": people["staff_on_team"].public_id, "priority": "normal"}
    response = client.post(url, {**good, **data})
    assert response.status_code == 400
    assert response.context["change_form"].errors[field]
    opened.refresh_from_db()
    assert (opened.status, opened.priority) == ("open", "normal")


def test_a_client_closes_their_own_ticket_and_reopens_a_resolved_one(client, people, opened):
    url = reverse("frontend:ticket_change", args=[opened.public_id])
    # Morgan did not open it: no buttons, and closing is refused.
    response = page(client, people["client_member"], "ticket", opened.public_id)
    assert response.context["client_actions"] == []
    assert client.post(url, {"action": "close"}).status_code == 403
    tickets.ticket_update(actor=people["staff_on_team"], ticket=opened, status="resolved")
    response = page(client, people["client_admin"], "ticket", opened.public_id)
    assert [a["value"] for a in response.context["client_actions"]] == ["reopen", "close"]
    assert client.post(url, {"action": "reopen"}).status_code == 302
    opened.refresh_from_db()
    assert opened.status == "waiting_on_firm"
    assert client.post(url, {"action": "close"}).status_code == 302
    opened.refresh_from_db()
    assert opened.status == "closed"
    body = html(page(client, people["client_admin"], "ticket", opened.public_id))
    assert "Open a new ticket" in body


def test_the_ticket_shows_its_sla(client, people, opened):
    body = html(page(client, people["staff_on_team"], "ticket", opened.public_id))
    assert 'data-sla="first_response"' in body and "Due in" in body
    tickets.ticket_reply(actor=people["staff_on_team"], ticket=opened, body="Looking now.")
    response = page(client, people["client_admin"], "ticket", opened.public_id)
    targets = dict(response.context["targets"])
    assert targets["first_response"].words == "Met"
    assert targets["resolution"].words == "Paused: waiting on the client"
    assert "The SLA clock is paused" in html(response)


def test_a_tickets_thread_links_to_the_ticket(client, people, opened):
    body = html(page(client, people["client_admin"], "thread", opened.thread.public_id))
    assert f'href="/tickets/{opened.public_id}/" data-ticket-link' in body
    from messaging import services as messaging

    general = messaging.thread_ensure_general(opened.account)
    assert "data-ticket-link" not in html(
        page(client, people["client_admin"], "thread", general.public_id)
    )


# --- lists -----------------------------------------------------------------------------------


def test_the_staff_queue_has_tabs_with_counts(client, people, acme, opened, help_category):
    unassigned = factories.ticket(
        acme, by=people["client_member"], category=help_category, subject="Unowned"
    )
    tickets.ticket_update(actor=people["firm_admin"], ticket=unassigned, assignee=None)
    response = page(client, people["staff_on_team"], "tickets")
    assert response.status_code == 200
    tabs = {tab["value"]: tab for tab in response.context["tabs"]}
    assert tabs["mine"]["chosen"] and tabs["mine"]["count"] == 1
    body = html(response)
    assert f'data-ticket-row="{opened.public_id}"' in body
    assert f'data-ticket-row="{unassigned.public_id}"' not in body
    assert tabs["unassigned"]["count"] == 1 and tabs["team"]["count"] == 2
    response = page(client, people["staff_on_team"], "tickets", query="?view=unassigned")
    assert f'data-ticket-row="{unassigned.public_id}"' in html(response)
    response = page(client, people["staff_on_team"], "tickets", query="?view=team")
    assert f'data-ticket-row="{opened.public_id}"' in html(response)
    response = page(client, people["staff_off_team"], "tickets", query="?view=all")
    assert f'data-ticket-row="{opened.public_id}"' not in html(response)
    assert page(client, people["staff_on_team"], "tickets", query="?view=bogus").status_code == 404
    assert (
        page(client, people["staff_on_team"], "tickets", query="?status=bogus").status_code == 404
    )


def test_the_staff_queue_filters_by_account_and_status(
    client, people, acme, globex, opened, help_category
):
    factories.ticket(
        globex, by=people["other_client"], category=help_category, subject="Globex one"
    )
    admin = people["firm_admin"]
    body = html(page(client, admin, "tickets", query=f"?view=all&account={acme.public_id}"))
    assert "SSO broken" in body and "Globex one" not in body
    body = html(page(client, admin, "tickets", query="?view=all&status=resolved"))
    assert "SSO broken" not in body
    # An account the person does not see is not found.
    response = page(
        client, people["staff_on_team"], "tickets", query=f"?account={globex.public_id}"
    )
    assert response.status_code == 404


def test_the_breaching_tab_warns(client, people, acme, opened):
    Ticket.objects.filter(pk=opened.pk).update(
        first_response_due_at=timezone.now() - timedelta(minutes=5)
    )
    response = page(client, people["staff_on_team"], "tickets", query="?view=breaching")
    body = html(response)
    assert f'data-ticket-row="{opened.public_id}"' in body
    assert "chip--danger" in body and "First response: overdue by" in body


def test_the_staff_queue_pages_older_tickets(client, people, acme, help_category, monkeypatch):
    from frontend.views import tickets as pages

    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    for n in range(3):
        factories.ticket(acme, by=people["client_admin"], category=help_category, subject=f"T{n}")
    first = page(client, people["firm_admin"], "tickets", query="?view=all")
    assert html(first).count("data-ticket-row=") == 2
    older = first.context["older"]
    assert older.startswith("?") and "cursor=" in older and "view=all" in older
    second = page(client, people["firm_admin"], "tickets", query=older)
    assert html(second).count("data-ticket-row=") == 1 and second.context["older"] is None
    stale = page(client, people["firm_admin"], "tickets", query="?view=all&cursor=tkt_nope")
    assert stale.status_code == 200 and "not valid" in html(stale)


def test_a_client_sees_their_accounts_tickets_open_first(
    client, people, acme, globex, opened, help_category
):
    done = factories.ticket(
        acme, by=people["client_member"], category=help_category, subject="Done one"
    )
    tickets.ticket_update(actor=people["staff_on_team"], ticket=done, status="closed")
    factories.ticket(
        globex, by=people["other_client"], category=help_category, subject="Globex one"
    )
    response = page(client, people["client_member"], "tickets")
    assert [r["ticket"] for r in response.context["active_rows"]] == [opened]
    assert [r["ticket"] for r in response.context["rows"]] == [done]
    body = html(response)
    assert "Globex one" not in body and "New ticket" in body
    assert (
        page(
            client, people["client_member"], "tickets", query=f"?account={globex.public_id}"
        ).status_code
        == 404
    )


def test_the_queue_costs_the_same_queries_for_one_ticket_or_many(
    client, people, acme, help_category
):
    staff = people["staff_on_team"]

    def add(n):
        for i in range(n):
            ticket = factories.ticket(
                acme, by=people["client_admin"], category=help_category, subject=f"Q{i}"
            )
            tickets.ticket_update(actor=people["firm_admin"], ticket=ticket, assignee=staff)

    add(1)
    client.force_login(staff)
    url = reverse("frontend:tickets")
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    add(9)
    with CaptureQueriesContext(connection) as ten:
        response = client.get(url)
    assert html(response).count("data-ticket-row=") == 10
    assert len(ten) == len(one)

    client.force_login(people["client_admin"])
    client.get(url)
    with CaptureQueriesContext(connection) as client_many:
        response = client.get(url)
    assert html(response).count("data-ticket-row=") == 10
    # The client's list asks no more than the staff's queue (no query per row).
    assert len(client_many) <= len(one) + 5


# --- opening a ticket -------------------------------------------------------------------------


def test_a_client_opens_a_ticket(client, people, acme, help_category):
    client.force_login(people["client_member"])
    response = client.get(reverse("frontend:ticket_new"))
    assert response.status_code == 200
    assert [c.name for c in response.context["categories"]] == ["Technical question"]
    response = client.post(
        reverse("frontend:ticket_new"),
        {
            "account": acme.public_id,
            "category": help_category.public_id,
            "subject": "Exports are empty",
            "body": "Since Monday the CSV has no rows.",
            "priority": "high",
        },
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/tickets/{ticket.public_id}/"
    assert (ticket.subject, ticket.priority, ticket.opened_by) == (
        "Exports are empty",
        "high",
        people["client_member"],
    )


def test_a_script_gets_the_new_ticket_as_json(client, people, acme, help_category):
    client.force_login(people["client_admin"])
    response = client.post(
        reverse("frontend:ticket_new"),
        {
            "account": acme.public_id,
            "category": help_category.public_id,
            "subject": "S",
            "body": "B",
            "priority": "normal",
        },
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 201
    ticket = Ticket.objects.get()
    assert response.json()["thread"] == ticket.thread.public_id


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"subject": ""}, "subject"),
        ({"subject": "x" * 201}, "subject"),
        ({"body": "   "}, "body"),
        ({"category": ""}, "category"),
        ({"category": "cat_unknown"}, "category"),
        ({"priority": "whenever"}, "priority"),
    ],
)
def test_a_bad_new_ticket_comes_back_at_its_field(client, people, acme, help_category, data, field):
    client.force_login(people["client_admin"])
    good = {
        "account": acme.public_id,
        "category": help_category.public_id,
        "subject": "S",
        "body": "B",
        "priority": "normal",
    }
    response = client.post(reverse("frontend:ticket_new"), {**good, **data})
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert not Ticket.objects.exists()


def test_an_archived_or_other_accounts_category_is_not_offered(
    client, people, acme, globex, help_category
):
    factories.category("Globex only", account=globex)
    own = factories.category("Acme only", account=acme)
    help_category.archived = True
    help_category.save()
    response = page(client, people["client_admin"], "ticket_new")
    assert [c.name for c in response.context["categories"]] == ["Acme only"]
    assert own in response.context["categories"]


def test_a_client_of_several_accounts_chooses_one(client, people, acme, globex, help_category):
    person = people["client_member"]
    from accounts.services import client_accounts

    client_accounts.membership_add(actor=None, account=globex, user=person, role="member")
    response = page(client, person, "ticket_new")
    assert response.context["form"] is None
    assert {a.name for a in response.context["accounts"]} == {acme.name, globex.name}
    response = page(client, person, "ticket_new", query=f"?account={globex.public_id}")
    assert response.context["account"] == globex


def test_no_ticket_for_an_account_one_does_not_see(client, people, globex, help_category):
    response = page(
        client, people["client_admin"], "ticket_new", query=f"?account={globex.public_id}"
    )
    assert response.status_code == 404
    response = page(client, people["staff_off_team"], "ticket_new")
    assert response.status_code == 404


def test_the_nav_says_tickets_to_staff_and_support_to_clients(client, people):
    assert ">Tickets</a>" in html(page(client, people["staff_on_team"], "home"))
    assert ">Support</a>" in html(page(client, people["client_admin"], "home"))


def test_the_account_page_links_its_tickets(client, people, acme):
    body = html(page(client, people["client_admin"], "account", acme.public_id))
    assert f"/tickets/?account={acme.public_id}" in body
    assert f"/tickets/new/?account={acme.public_id}" in body


def test_the_staff_nav_counts_mine_and_unassigned(client, people, acme, opened, help_category):
    loose = factories.ticket(acme, by=people["client_member"], category=help_category)
    tickets.ticket_update(actor=people["firm_admin"], ticket=loose, assignee=None)
    body = html(page(client, people["staff_on_team"], "home"))
    assert '<span class="nav-count">2<span class="visually-hidden"> mine or unassigned' in body
    body = html(page(client, people["staff_off_team"], "home"))
    assert "nav-count" not in body  # nothing of theirs, nothing they see unassigned
    assert "nav-count" not in html(page(client, people["client_admin"], "home"))
