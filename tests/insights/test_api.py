"""``GET /api/v1/metrics/adoption``: who may read it, its answer as JSON and as CSV (formula
cells neutralised), and bad input."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from insights.export import cell
from tests import factories

URL = reverse("insights_api:adoption")
PERIOD = {"from": "2026-10-22", "to": "2026-12-01", "since": "2026-11-16"}


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("firm_admin", 200),
        ("staff_on_team", 403),
        ("staff_off_team", 403),
        ("client_admin", 404),
        ("client_member", 404),
        ("other_client", 404),
    ],
)
def test_only_firm_admins_get_the_figures(client, people, who, status):
    client.force_login(people[who])
    for fmt in ("json", "csv"):
        response = client.get(URL, {**PERIOD, "format": fmt})
        assert response.status_code == status, fmt
        if status != 200:
            assert response.json()["error"]["code"] == (
                "firm_admin_only" if status == 403 else "not_found"
            )


def test_signed_out_is_401(client, db):
    assert client.get(URL).status_code == 401


def test_deactivated_admin_is_refused(client, db):
    admin = factories.firm_admin()
    client.force_login(admin)
    admin.is_active = False
    admin.save(update_fields=["is_active"])
    assert client.get(URL).status_code in (401, 302)


def test_the_json_answer(client, world):
    client.force_login(world.admin)
    body = client.get(URL, PERIOD).json()
    assert body["period"]["from"] == "2026-10-22" and body["period"]["to"] == "2026-12-01"
    assert body["period"]["since"] == "2026-11-16" and body["period"]["days"] == 40
    assert body["period"]["recent_from"] == "2026-11-01"
    assert body["active_bar"] == 0.6
    acme = body["accounts"][0]
    assert acme["account"] == world.acme.public_id and acme["name"] == "Acme"
    assert acme["logins"] == 5 and acme["active_share"] == 0.5 and acme["below_bar"] is True
    assert acme["median_resolution_hours"] == 48.0
    assert body["firm"]["active_users"] == 3


def test_one_account(client, world):
    client.force_login(world.admin)
    body = client.get(URL, {**PERIOD, "account": world.globex.public_id}).json()
    assert [row["name"] for row in body["accounts"]] == ["Globex"]
    unknown = client.get(URL, {**PERIOD, "account": "acc_aaaaaaaaaaaaaaaaaaaaaaaa"})
    assert unknown.status_code == 404


def test_the_csv_file(client, world):
    client.force_login(world.admin)
    response = client.get(URL, {**PERIOD, "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == (
        'attachment; filename="adoption-2026-10-22-to-2026-12-01.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["name"] for row in rows] == ["Acme", "Globex", "Initech", "All accounts"]
    assert rows[0]["logins"] == "5" and rows[0]["below_bar"] == "yes"
    assert rows[0]["p90_first_response_hours"] == "8.8"
    assert rows[2]["active_share"] == ""  # no people, no share
    assert rows[3]["active_users"] == "3"


@pytest.mark.parametrize(
    "name",
    [
        '=HYPERLINK("http://evil.test","x")',
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1:A2)",
        "\tTabbed",
        "\rReturned",
    ],
)
def test_csv_cells_that_would_be_formulas_are_neutralised(client, world, name):
    world.acme.name = name
    world.acme.save(update_fields=["name"])
    client.force_login(world.admin)
    text = client.get(URL, {**PERIOD, "format": "csv"}).content.decode()
    rows = list(csv.reader(io.StringIO(text, newline="")))
    names = [row[1] for row in rows[1:]]
    assert "'" + name in names
    assert name not in names


def test_cell_leaves_safe_values_alone():
    assert cell("Acme") == "Acme"
    assert cell("a=b") == "a=b"
    assert cell(3) == 3 and cell(0.5) == 0.5 and cell(None) == ""
    assert cell(True) == "yes"


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ({"from": "2026-13-01"}, {"from": "invalid"}),
        ({"from": "yesterday", "to": "2026/12/01"}, {"from": "invalid", "to": "invalid"}),
        ({"since": "2026-11-1"}, {"since": "invalid"}),
        ({"from": "2026-12-01", "to": "2026-12-01"}, {"to": "not_after_from"}),
        ({"from": "2026-12-02", "to": "2026-12-01"}, {"to": "not_after_from"}),
        ({"from": "2020-01-01", "to": "2026-12-01"}, {"to": "too_long"}),
        ({**PERIOD, "since": "2026-12-02"}, {"since": "outside_period"}),
        ({**PERIOD, "since": "2026-10-21"}, {"since": "outside_period"}),
        ({**PERIOD, "format": "xlsx"}, {"format": "invalid"}),
    ],
)
def test_bad_input_is_400_naming_the_field(client, people, query, fields):
    client.force_login(people["firm_admin"])
    response = client.get(URL, query)
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == fields


def test_the_default_period_is_the_last_30_days(client, people):
    client.force_login(people["firm_admin"])
    body = client.get(URL).json()
    assert body["period"]["days"] == 30


def test_only_get(client, people):
    client.force_login(people["firm_admin"])
    assert client.post(URL).status_code in (403, 405)


@pytest.mark.parametrize(
    "period",
    [PERIOD, {"from": "2026-09-15", "to": "2026-12-01", "since": "2026-11-01"}],
    ids=["period", "rolled_months"],
)
def test_the_queries_do_not_grow_with_rollups_present(client, world, period):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.insights.conftest import login

    client.force_login(world.admin)
    client.get(URL, period)  # the session warmed, the rollups built
    with CaptureQueriesContext(connection) as few:
        assert client.get(URL, period).status_code == 200
    for n in range(4):
        person = factories.client(factories.account(f"More {n}"))
        login(person, "2026-10-20 10:00")
        login(person, "2026-11-20 10:00")
    with CaptureQueriesContext(connection) as many:
        answer = client.get(URL, period)
    assert len(answer.json()["accounts"]) == 7
    assert len(many) == len(few)
