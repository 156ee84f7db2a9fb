"""``/api/v1/me``: reading and changing one's own profile."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Matter, TeamAssignment
from accounts.services import client_accounts
from tests import factories

ME = reverse("api:me")
pytestmark = pytest.mark.django_db


def patch(client, data, content_type="application/json"):
    body = json.dumps(data) if not isinstance(data, str) else data
    return client.patch(ME, body, content_type=content_type)


@pytest.fixture
def person(client):
    person = factories.user(name="Ada Lovelace")
    client.force_login(person)
    return person


def test_get_shows_zone_and_picture(client, person):
    user = client.get(ME).json()["user"]
    assert user["time_zone"] is None and user["avatar"] is None
    assert user["name"] == "Ada Lovelace"


def test_patch_changes_name_and_zone(client, person):
    response = patch(client, {"name": " Ada  King ", "time_zone": "Europe/Paris"})
    assert response.status_code == 200
    assert response.json()["user"]["name"] == "Ada King"
    assert response.json()["user"]["time_zone"] == "Europe/Paris"
    person.refresh_from_db()
    assert (person.name, person.time_zone) == ("Ada King", "Europe/Paris")
    # null (or "") puts the deployment's zone back; a name left out stays.
    assert patch(client, {"time_zone": None}).json()["user"]["time_zone"] is None
    person.refresh_from_db()
    assert (person.name, person.time_zone) == ("Ada King", "")


@pytest.mark.parametrize(
    ("body", "code", "fields"),
    [
        ({"name": ""}, "invalid", {"name": "required"}),
        ({"name": None}, "invalid", {"name": "invalid"}),
        ({"name": ["Ada"]}, "invalid", {"name": "invalid"}),
        ({"name": "x" * 151}, "invalid", {"name": "too_long"}),
        ({"name": "Ada King", "time_zone": "Europe/Atlantis"}, "invalid", {"time_zone": "invalid"}),
        ({"time_zone": 3}, "invalid", {"time_zone": "invalid"}),
        ({"name": "Ada King", "email": "x@y.test"}, "unknown_field", {"email": "unknown"}),
        ("[1, 2]", "bad_json", None),
        ("{not json", "bad_json", None),
        ({"name": "Ada\x00"}, "nul_character", {"name": "nul_character"}),
    ],
)
def test_bad_input_is_refused_precisely_and_nothing_written(client, person, body, code, fields):
    response = patch(client, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code
    if fields is not None:
        assert error["fields"] == fields
    person.refresh_from_db()
    assert (person.name, person.time_zone) == ("Ada Lovelace", "")


def test_anonymous_gets_401(client, db):
    assert patch(client, {"name": "X"}).status_code == 401


def test_other_methods_are_405(client, person):
    response = client.post(ME, {})
    assert response.status_code == 405
    assert response["Allow"] == "GET, PATCH"


@pytest.mark.parametrize("role", ["staff", "client", "firm_admin"])
def test_get_asks_nothing_it_does_not_show(client, role, django_assert_num_queries):
    """The accounts and the person's role in each, and no query for the teams or matters
    it does not output: as many queries for five accounts as for one."""
    first = factories.account("Acme")
    person = {
        "staff": lambda: factories.staff(accounts=(first,)),
        "client": lambda: factories.client(first, role="admin"),
        "firm_admin": lambda: factories.firm_admin(),
    }[role]()
    client.force_login(person)
    client.get(ME)  # warm the caches (content types, the session)
    with CaptureQueriesContext(connection) as one:
        assert len(client.get(ME).json()["accounts"]) == 1
    for n in range(4):
        account = factories.account(f"Client {n}")
        factories.matter(account)
        factories.staff(accounts=(account,))
        if role == "staff":
            client_accounts.team_assign(actor=None, account=account, user=person)
        elif role == "client":
            client_accounts.membership_add(actor=None, account=account, user=person)
    with django_assert_num_queries(len(one)) as five:
        accounts = client.get(ME).json()["accounts"]
    roles = {row["name"]: row["role"] for row in accounts}
    expected = {
        "staff": dict.fromkeys(roles, "staff"),
        "client": {**dict.fromkeys(roles, "client_member"), "Acme": "client_admin"},
        "firm_admin": dict.fromkeys(roles, "firm_admin"),
    }[role]
    assert len(roles) == 5 and roles == expected
    unasked = (Matter._meta.db_table, TeamAssignment._meta.db_table)
    assert not [
        q["sql"] for q in five.captured_queries if any(f'FROM "{t}"' in q["sql"] for t in unasked)
    ]
