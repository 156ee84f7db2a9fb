"""The JSON API's conventions, through /api/v1/me."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import ClientAccount
from accounts.services.client_accounts import membership_add, team_assign
from tests import factories

ME = reverse("api:me")


def accounts_of(response) -> dict[str, str | None]:
    return {a["name"]: a["role"] for a in response.json()["accounts"]}


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("firm_admin", {"Acme": "firm_admin", "Globex": "firm_admin", "Initech": "firm_admin"}),
        ("staff_on_team", {"Acme": "staff"}),
        ("staff_off_team", {"Globex": "staff"}),
        ("client_admin", {"Acme": "client_admin"}),
        ("client_member", {"Acme": "client_member"}),
        ("other_client", {"Globex": "client_admin"}),
    ],
)
def test_me_lists_exactly_the_accounts_each_role_may_see(client, people, role, expected):
    factories.account("Initech")
    person = people[role]
    client.force_login(person)
    response = client.get(ME)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["user"] == {
        "id": person.public_id,
        "email": person.email,
        "name": person.name,
        "initials": person.initials,
        "firm_role": person.firm_role or None,
        "time_zone": None,
        "avatar": None,
    }
    assert accounts_of(response) == expected
    for entry in body["accounts"]:
        account = ClientAccount.objects.get(public_id=entry["id"])
        assert entry["slug"] == account.slug
        assert entry["status"] == "active"
        assert set(entry) == {"id", "name", "slug", "status", "role"}


def test_me_never_exposes_internal_ids(client, people):
    client.force_login(people["firm_admin"])
    body = client.get(ME).json()
    assert body["user"]["id"].startswith("usr_")
    assert all(a["id"].startswith("acc_") for a in body["accounts"])
    assert "pk" not in body["user"]


def test_a_client_in_two_accounts_sees_both_with_each_role(client, acme, globex):
    person = factories.client(acme, role="admin")
    membership_add(actor=None, account=globex, user=person, role="member")
    client.force_login(person)
    assert accounts_of(client.get(ME)) == {"Acme": "client_admin", "Globex": "client_member"}


def test_a_user_in_no_account_sees_none(client, db):
    client.force_login(factories.user())
    response = client.get(ME)
    assert response.status_code == 200
    assert response.json()["accounts"] == []


def test_anonymous_is_refused_with_401(client, db):
    response = client.get(ME)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response.json()["error"]["message"]


def test_a_deactivated_user_is_refused(client, people):
    person = people["client_member"]
    client.force_login(person)
    person.is_active = False
    person.save()
    response = client.get(ME)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_other_methods_are_refused_with_405(client, people, method):
    client.force_login(people["client_member"])
    response = getattr(client, method)(ME)
    assert response.status_code == 405
    assert response["Allow"] == "GET, PATCH"
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_an_unknown_api_path_is_a_json_404(client, people, settings):
    assert settings.DEBUG is False
    client.force_login(people["client_member"])
    for path in ("/api/v1/nope", "/api/v1/me/extra", "/api/v2/me"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response["Content-Type"] == "application/json"
        assert response.json()["error"]["code"] == "not_found"


def test_an_unknown_page_is_a_branded_404(client, db):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert "--brand-primary" in response.content.decode()


def test_a_csrf_failure_on_the_api_is_json(people):
    client = Client(enforce_csrf_checks=True)
    client.force_login(people["client_member"])
    response = client.post(ME, {})
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "csrf_failed"


def test_a_csrf_failure_on_a_page_is_html(people):
    client = Client(enforce_csrf_checks=True)
    client.force_login(people["client_member"])
    response = client.post(reverse("frontend:logout"))
    assert response.status_code == 403
    assert "Please try again" in response.content.decode()


def count_me_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(ME)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("kind", ["firm_admin", "staff", "client"])
def test_me_query_count_does_not_grow_with_accounts(client, db, kind):
    first = factories.account()
    if kind == "firm_admin":
        person = factories.firm_admin()
    elif kind == "staff":
        person = factories.staff(accounts=(first,))
    else:
        person = factories.client(first)
    factories.matter(first)
    factories.matter(first, privileged=True, grants=(person,))
    client.force_login(person)
    one = count_me_queries(client)
    assert len(client.get(ME).json()["accounts"]) == 1

    for _ in range(4):
        account = factories.account()
        if kind == "staff":
            team_assign(actor=None, account=account, user=person)
        elif kind == "client":
            membership_add(actor=None, account=account, user=person)
        factories.staff(accounts=(account,))
        factories.client(account)
        factories.matter(account)
        factories.matter(account, privileged=True, grants=(person,))
    five = count_me_queries(client)
    assert len(client.get(ME).json()["accounts"]) == 5
    assert five == one


def test_me_stays_within_a_small_fixed_number_of_queries(
    client, people, django_assert_max_num_queries
):
    client.force_login(people["client_admin"])
    with django_assert_max_num_queries(10):
        assert client.get(ME).status_code == 200
