"""``GET /api/v1/search`` over HTTP: who finds what, the answer's shape, and precise errors."""

from __future__ import annotations

import pytest
from django.urls import reverse

from search.query import MAX_QUERY_CHARS
from tests.search.helpers import GRANTED, SEES_ACME

URL = "/api/v1/search"


def get(client, **params):
    return client.get(URL, params)


def test_the_route_is_where_the_docs_say():
    assert reverse("search_api:search") == URL


@pytest.mark.parametrize(
    "role",
    [
        "firm_admin",
        "staff_on_team",
        "staff_off_team",
        "client_admin",
        "client_member",
        "other_client",
    ],
)
def test_each_role_gets_only_what_it_may_see(client, world, role):
    client.force_login(world.people[role])
    response = get(client, q="zebra")
    assert response.status_code == 200
    ids = {r["id"] for r in response.json()["results"]}
    assert (world.message in ids) == (role in SEES_ACME)
    assert (world.brief.public_id in ids) == (role in SEES_ACME)
    assert (world.secret_message in ids) == (role in GRANTED)
    assert (world.memo.public_id in ids) == (role in GRANTED)
    assert get(client, q="quagga").json()["results"] == []  # privileged text: nobody


def test_a_result_has_the_documented_fields(client, world):
    client.force_login(world.people["client_admin"])
    body = get(client, q="crossing").json()
    assert body["next"] is None
    [result] = body["results"]
    assert set(result) == {"type", "id", "title", "snippet", "url", "account", "context"}
    assert result["type"] == "message"
    assert result["id"] == world.message
    assert result["title"] == "General"
    assert "<mark>crossing</mark>" in result["snippet"]
    assert result["url"].startswith(f"/threads/{world.general.public_id}/#seq-")
    assert result["account"] == world.acme.public_id


def test_type_account_limit_and_cursor(client, world):
    client.force_login(world.people["firm_admin"])
    kinds = {r["type"] for r in get(client, q="zebra", type="document").json()["results"]}
    assert kinds == {"document"}
    ids = {
        r["id"] for r in get(client, q="zebra", account=world.globex.public_id).json()["results"]
    }
    assert ids == {world.globex_message}
    first = get(client, q="zebra", limit=2).json()
    assert len(first["results"]) == 2 and first["next"]
    second = get(client, q="zebra", limit=2, cursor=first["next"]).json()
    assert not {r["id"] for r in first["results"]} & {r["id"] for r in second["results"]}


@pytest.mark.parametrize(
    ("params", "code", "field"),
    [
        ({}, "query_required", "q"),
        ({"q": "  "}, "query_required", "q"),
        ({"q": "z" * (MAX_QUERY_CHARS + 1)}, "query_too_long", "q"),
        ({"q": "zebra", "type": "invoice"}, "bad_type", "type"),
        ({"q": "zebra", "limit": "0"}, "bad_limit", "limit"),
        ({"q": "zebra", "limit": "x"}, "bad_limit", "limit"),
        ({"q": "zebra", "cursor": "%%%"}, "bad_cursor", "cursor"),
    ],
)
def test_bad_input_is_a_precise_400(client, world, params, code, field):
    client.force_login(world.people["client_admin"])
    response = get(client, **params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code
    assert field in error["fields"]


def test_an_account_the_caller_does_not_see_is_not_found(client, world):
    client.force_login(world.people["other_client"])
    response = get(client, q="zebra", account=world.acme.public_id)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert get(client, q="zebra", account="acc_nosuchaccount").status_code == 404


def test_anonymous_gets_401_and_other_methods_405(client, world):
    response = get(client, q="zebra")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    client.force_login(world.people["client_admin"])
    assert client.post(URL, {"q": "zebra"}).status_code in (403, 405)
