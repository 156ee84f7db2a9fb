"""``/api/v1/tickets`` over HTTP: the permission matrix (each role of ``people`` against each
endpoint), the answers' shapes, the 400s the issue names with nothing written, the 409 for a
closed ticket, pagination, and list query counts that do not grow with tickets or
accounts."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from messaging.models import Message
from support.models import Ticket
from support.services import ticket_update
from tests import factories
from tests.factories import ROLES

TEAM = {"firm_admin", "staff_on_team"}
CLIENTS = {"client_admin", "client_member"}


def _json(client, method, path, data=None):
    return getattr(client, method)(path, json.dumps(data or {}), content_type="application/json")


def _as(client, people, who):
    client.force_login(people[who])
    return client


def _expected(who, *, team, clients, others=404):
    return team if who in TEAM else clients if who in CLIENTS else others


@pytest.fixture
def ticket(acme, people, help_desk):
    return factories.ticket(
        acme, by=people["client_member"], category=help_desk, subject="Login fails"
    )


# --- the matrix ------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ROLES)
def test_categories(client, acme, people, help_desk, who):
    factories.category("Globex only", account=factories.account("Elsewhere"))
    own = factories.category("Acme only", account=acme)
    answer = _as(client, people, who).get(
        reverse("support_api:categories") + f"?account={acme.public_id}"
    )
    assert answer.status_code == _expected(who, team=200, clients=200)
    if answer.status_code == 200:
        names = [c["name"] for c in answer.json()["categories"]]
        assert names == ["Acme only", "Help"]
        (found,) = [c for c in answer.json()["categories"] if c["id"] == own.public_id]
        assert found["account"] == acme.public_id


@pytest.mark.parametrize("who", ROLES)
def test_open(client, acme, people, help_desk, who):
    answer = _json(
        _as(client, people, who),
        "post",
        reverse("support_api:tickets"),
        {
            "account": acme.public_id,
            "category": help_desk.public_id,
            "subject": "Login fails",
            "body": "Since this morning.",
            "priority": "urgent",
        },
    )
    assert answer.status_code == _expected(who, team=201, clients=201)
    if answer.status_code == 201:
        body = answer.json()
        assert body["id"].startswith("tkt_")
        assert body["status"] == "open"
        assert body["priority"] == "urgent"
        assert body["assignee"]["id"] == people["staff_on_team"].public_id
        assert body["thread"].startswith("thr_")
        assert body["sla"]["first_response"]["target_minutes"] == 15
        assert body["url"] == f"/tickets/{body['id']}/"
    else:
        assert Ticket.objects.count() == 0


@pytest.mark.parametrize("who", ROLES)
def test_list(client, acme, people, ticket, who):
    answer = _as(client, people, who).get(reverse("support_api:tickets"))
    assert answer.status_code == 200
    ids = [t["id"] for t in answer.json()["tickets"]]
    assert ids == ([ticket.public_id] if who in TEAM | CLIENTS else [])


@pytest.mark.parametrize("who", ROLES)
def test_read(client, people, ticket, who):
    answer = _as(client, people, who).get(reverse("support_api:ticket", args=[ticket.public_id]))
    assert answer.status_code == _expected(who, team=200, clients=200)


@pytest.mark.parametrize("who", ROLES)
def test_reply(client, people, ticket, who):
    path = reverse("support_api:replies", args=[ticket.public_id])
    answer = _json(_as(client, people, who), "post", path, {"body": "Any news?"})
    assert answer.status_code == _expected(who, team=201, clients=201)
    if answer.status_code == 201:
        body = answer.json()
        assert body["message"].startswith("msg_")
        assert body["seq"] > 0
        expected = "waiting_on_client" if who in TEAM else "open"
        assert body["ticket"]["status"] == expected
    else:
        assert Message.objects.filter(thread=ticket.thread).count() == 1


@pytest.mark.parametrize("who", ROLES)
def test_change_status(client, people, ticket, who):
    path = reverse("support_api:ticket", args=[ticket.public_id])
    answer = _json(_as(client, people, who), "patch", path, {"status": "resolved"})
    assert answer.status_code == _expected(who, team=200, clients=403)
    if answer.status_code == 200:
        body = answer.json()
        assert body["status"] == "resolved"
        assert body["resolved_at"] is not None
        assert body["resolution_seconds"] is not None
        assert body["resolution_hours"] is not None


@pytest.mark.parametrize("who", ROLES)
def test_close(client, people, ticket, who):
    """Clients may close their own ticket (client_member opened it), not another's."""
    path = reverse("support_api:ticket", args=[ticket.public_id])
    answer = _json(_as(client, people, who), "patch", path, {"status": "closed"})
    expected = 200 if who in TEAM | {"client_member"} else _expected(who, team=0, clients=403)
    assert answer.status_code == expected


@pytest.mark.parametrize("who", ROLES)
def test_reassign(client, people, ticket, who):
    path = reverse("support_api:ticket", args=[ticket.public_id])
    target = people["firm_admin"].public_id
    answer = _json(_as(client, people, who), "patch", path, {"assignee": target})
    assert answer.status_code == _expected(who, team=200, clients=403)
    if answer.status_code == 200:
        assert answer.json()["assignee"]["id"] == target


def test_anonymous_gets_401(client, ticket):
    assert client.get(reverse("support_api:tickets")).status_code == 401
    assert client.get(reverse("support_api:ticket", args=[ticket.public_id])).status_code == 401


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "fields"),
    [
        ({"subject": ""}, {"subject": "required"}),
        ({"body": ""}, {"body": "required"}),
        ({"category": "cat_unknown00000000000000"}, {"category": "unknown"}),
        ({"priority": "soon"}, {"priority": "invalid"}),
        ({"colour": "red"}, {"colour": "unknown"}),
    ],
)
def test_bad_tickets_are_400_with_fields_and_nothing_written(
    client, acme, people, help_desk, given, fields
):
    data = {
        "account": acme.public_id,
        "category": help_desk.public_id,
        "subject": "Login",
        "body": "Fails",
        **given,
    }
    answer = _json(
        _as(client, people, "client_member"), "post", reverse("support_api:tickets"), data
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["fields"] == fields
    assert Ticket.objects.count() == 0
    assert Message.objects.count() == 0


def test_no_account_is_a_400(client, people, help_desk):
    answer = _json(
        _as(client, people, "client_member"),
        "post",
        reverse("support_api:tickets"),
        {"category": help_desk.public_id, "subject": "x", "body": "y"},
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["fields"] == {"account": "required"}


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({"status": "done"}, {"status": "invalid"}),
        ({"priority": "soon"}, {"priority": "invalid"}),
        ({"assignee": "usr_nobody0000000000000000"}, {"assignee": "unknown"}),
        ({"assignee": 7}, {"assignee": "unknown"}),
        ({}, {}),
    ],
)
def test_bad_changes_are_400(client, people, ticket, data, fields):
    path = reverse("support_api:ticket", args=[ticket.public_id])
    answer = _json(_as(client, people, "staff_on_team"), "patch", path, data)
    assert answer.status_code == 400
    assert answer.json()["error"].get("fields", {}) == fields
    assert Ticket.objects.get(pk=ticket.pk).status == "open"


def test_an_empty_reply_is_a_400(client, people, ticket):
    path = reverse("support_api:replies", args=[ticket.public_id])
    answer = _json(_as(client, people, "client_member"), "post", path, {"body": " "})
    assert answer.status_code == 400
    assert answer.json()["error"]["fields"] == {"body": "required"}


def test_a_reply_to_a_closed_ticket_is_a_409_asking_for_a_new_one(client, people, ticket):
    ticket_update(actor=people["staff_on_team"], ticket=ticket, status="closed")
    path = reverse("support_api:replies", args=[ticket.public_id])
    answer = _json(_as(client, people, "client_member"), "post", path, {"body": "Hello?"})
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "ticket_closed"
    assert "new ticket" in answer.json()["error"]["message"]


@pytest.mark.parametrize(
    "query", ["?status=done", "?view=everything", "?cursor=tkt_nope", "?limit=0"]
)
def test_bad_list_filters_are_400(client, people, query):
    answer = _as(client, people, "staff_on_team").get(reverse("support_api:tickets") + query)
    assert answer.status_code == 400


# --- lists -----------------------------------------------------------------------------------


def test_pages_follow_the_cursor(client, acme, people, help_desk):
    made = [
        factories.ticket(acme, by=people["client_member"], category=help_desk) for _ in range(5)
    ]
    seen = []
    path = reverse("support_api:tickets") + "?limit=2"
    _as(client, people, "staff_on_team")
    while path:
        body = client.get(path).json()
        seen += [t["id"] for t in body["tickets"]]
        path = (
            reverse("support_api:tickets") + f"?limit=2&cursor={body['next']}"
            if body["next"]
            else None
        )
    assert sorted(seen) == sorted(t.public_id for t in made)
    assert len(seen) == 5


def test_filters_by_account_status_and_view(client, acme, globex, people, help_desk):
    mine = factories.ticket(acme, by=people["client_member"], category=help_desk)
    theirs = factories.ticket(globex, by=people["other_client"], category=help_desk)
    ticket_update(actor=people["firm_admin"], ticket=theirs, status="resolved")
    _as(client, people, "firm_admin")

    def ids(query):
        answer = client.get(reverse("support_api:tickets") + query)
        assert answer.status_code == 200, answer.json()
        return [t["id"] for t in answer.json()["tickets"]]

    assert ids(f"?account={acme.public_id}") == [mine.public_id]
    assert ids("?status=resolved") == [theirs.public_id]
    assert ids("?view=unassigned") == []
    _as(client, people, "staff_on_team")
    assert ids("?view=mine") == [mine.public_id]
    assert ids("?view=team") == [mine.public_id]
    hidden = client.get(reverse("support_api:tickets") + "?account=" + globex.public_id)
    assert hidden.status_code == 404


def test_the_list_s_queries_do_not_grow_with_tickets_or_accounts(
    client, acme, people, help_desk, django_assert_num_queries
):
    admin = people["firm_admin"]
    factories.ticket(acme, by=people["client_member"], category=help_desk)
    _as(client, people, "firm_admin")
    path = reverse("support_api:tickets")
    with django_assert_num_queries(4):  # the session, the user, guardian's accounts, the page
        client.get(path)
    for n in range(4):
        other = factories.account(f"Other {n}")
        factories.staff(accounts=(other,))
        for _ in range(3):
            factories.ticket(other, by=admin, category=help_desk)
    with django_assert_num_queries(4):
        answer = client.get(path)
    assert len(answer.json()["tickets"]) == 13
