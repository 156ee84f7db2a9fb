"""The Insights page, the records behind its figures and the status phrases form."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from insights.models import LoginEvent, StatusPhrase
from tests import factories
from tests.insights.conftest import at

PAGE = reverse("frontend:insights")
PHRASES = reverse("frontend:insights_phrases")
QUERY = {"from": "2026-10-22", "to": "2026-12-01", "since": "2026-11-16"}


def records(account, kind: str) -> str:
    return reverse("frontend:insights_records", args=[account.public_id, kind])


@pytest.mark.parametrize(
    "who", ["staff_on_team", "staff_off_team", "client_admin", "client_member", "other_client"]
)
def test_everyone_but_firm_admins_gets_404(client, people, acme, who):
    client.force_login(people[who])
    assert client.get(PAGE).status_code == 404
    assert client.get(records(acme, "logins")).status_code == 404
    assert client.post(PHRASES, {"phrases": "x"}).status_code == 404
    assert b"/insights/" not in client.get(reverse("frontend:home")).content


def test_the_nav_link_is_a_firm_admins(client, people):
    client.force_login(people["firm_admin"])
    assert f'href="{PAGE}"'.encode() in client.get(reverse("frontend:home")).content


def test_the_page_shows_the_firm_figures_charts_table_and_csv_link(client, world):
    client.force_login(world.admin)
    response = client.get(PAGE, QUERY)
    assert response.status_code == 200
    body = response.content.decode()
    assert "50 %" in body and "Below the bar" in body
    assert 'id="insights-data"' in body and "vendor/chartjs/chart.umd.min.js" in body
    assert 'id="chart-share"' in body and 'id="chart-days"' in body
    assert "/api/v1/metrics/adoption?from=2026-10-22&amp;to=2026-12-01" in body
    assert f'data-account="{world.acme.public_id}"' in body
    assert records(world.acme, "logins") + "?from=2026-10-22" in body
    # Sign-ins per day: 25 Oct, 30 Oct, 5 Nov, 20 Nov (Ann and Ben), 30 Nov (Gina).
    assert body.count('<time datetime="2026-') >= 5


def test_the_table_sorts_by_a_column(client, world):
    client.force_login(world.admin)
    body = client.get(PAGE, {**QUERY, "sort": "logins", "dir": "desc"}).content.decode()
    order = [body.index(f'data-account="{a.public_id}"') for a in (world.acme, world.globex)]
    assert order == sorted(order)
    assert 'aria-sort="descending"' in body
    body = client.get(PAGE, {**QUERY, "sort": "logins", "dir": "asc"}).content.decode()
    assert body.index(world.initech.public_id) < body.index(world.acme.public_id)
    # An unknown column sorts by name.
    assert client.get(PAGE, {**QUERY, "sort": "password"}).status_code == 200


def test_bad_dates_show_an_error_and_the_default_period(client, people):
    client.force_login(people["firm_admin"])
    response = client.get(PAGE, {"from": "2026-12-05", "to": "2026-12-01"})
    assert response.status_code == 400
    assert "The period ends" in response.content.decode()


# October before since and November after it, both closed: read from their rollups.
ROLLED = {"from": "2026-09-15", "to": "2026-12-01", "since": "2026-11-01"}


@pytest.mark.parametrize("query", [QUERY, ROLLED], ids=["period", "rolled_months"])
def test_the_page_queries_do_not_grow(client, world, query):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from insights.models import RolledMonth

    client.force_login(world.admin)
    client.get(PAGE, query)  # the session and the firm's row warmed, the rollups built
    with CaptureQueriesContext(connection) as few:
        client.get(PAGE, query)
    for n in range(4):
        account = factories.account(f"More {n}")
        person = factories.client(account)
        LoginEvent.objects.create(user=person, firm_staff=False)
        LoginEvent.objects.create(user=person, at=at("2026-10-20 10:00"), firm_staff=False)
    with CaptureQueriesContext(connection) as many:
        client.get(PAGE, query)
    assert len(many) == len(few)
    if query is ROLLED:
        assert set(RolledMonth.objects.values_list("source", flat=True)) == {
            "sign_ins",
            "sign_ins_by_day",
            "messages",
        }


def test_the_logins_behind_the_figure(client, world):
    client.force_login(world.admin)
    body = client.get(records(world.acme, "logins"), QUERY).content.decode()
    assert body.count("data-login=") == 5
    assert "Ann One" in body and "Gina Globex" in body and "Dan Gone" not in body


def test_the_logins_come_a_page_at_a_time(client, world):
    client.force_login(world.admin)
    first = client.get(records(world.acme, "logins"), {**QUERY, "limit": "2"}).content.decode()
    assert first.count("data-login=") == 2 and "cursor=lgn_" in first
    cursor = first.split("cursor=")[1].split('"')[0]
    second = client.get(
        records(world.acme, "logins"), {**QUERY, "limit": "2", "cursor": cursor}
    ).content.decode()
    assert second.count("data-login=") == 2
    bad = client.get(records(world.acme, "logins"), {**QUERY, "cursor": "lgn_nope"})
    assert bad.status_code == 400


def test_the_tickets_behind_the_figures(client, world):
    client.force_login(world.admin)
    body = client.get(records(world.acme, "tickets"), QUERY).content.decode()
    assert body.count("data-ticket=") == 4  # three opened and one resolved in the period
    assert "768.00" in body and "8.8" not in body
    status = client.get(records(world.acme, "tickets"), {**QUERY, "status": "1"})
    assert status.content.decode().count("data-ticket=") == 2


def test_the_status_questions_behind_the_figures(client, world):
    client.force_login(world.admin)
    body = client.get(records(world.acme, "status-questions"), QUERY).content.decode()
    assert body.count("data-message=") == 3
    assert body.count("data-ticket=") == 2
    assert "anyupdate here" not in body


def test_an_unknown_kind_or_account_is_404(client, world):
    client.force_login(world.admin)
    assert client.get(records(world.acme, "passwords")).status_code == 404
    unknown = reverse("frontend:insights_records", args=["acc_aaaaaaaaaaaaaaaaaaaaaaaa", "logins"])
    assert client.get(unknown).status_code == 404


def test_firm_admins_change_the_phrases(client, people):
    client.force_login(people["firm_admin"])
    response = client.post(PHRASES, {"phrases": "  Where ARE   we \n\nETA\neta\n"})
    assert response.status_code == 302
    assert list(StatusPhrase.objects.values_list("phrase", flat=True)) == ["eta", "where are we"]


def test_a_phrase_too_long_changes_nothing(client, people):
    client.force_login(people["firm_admin"])
    before = list(StatusPhrase.objects.values_list("phrase", flat=True))
    client.post(PHRASES, {"phrases": "x" * 81})
    assert list(StatusPhrase.objects.values_list("phrase", flat=True)) == before


def test_a_new_deployment_starts_with_the_default_phrases(db):
    # Run the data migration's step itself: a transactional test earlier in the same process
    # may have flushed what the migration wrote when the test database was made.
    import importlib

    from django.apps import apps

    from insights.models import DEFAULT_STATUS_PHRASES

    migration = importlib.import_module("insights.migrations.0002_default_status_phrases")
    StatusPhrase.objects.all().delete()
    migration.add_defaults(apps, None)
    stored = set(StatusPhrase.objects.values_list("phrase", flat=True))
    assert stored == set(DEFAULT_STATUS_PHRASES)
    assert "where are we" in stored


@pytest.mark.parametrize("kind", ["logins", "tickets", "status-questions"])
def test_the_records_pages_cost_the_same_for_few_records_or_many(client, world, kind):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from messaging.services import thread_ensure_general
    from support.models import Category
    from tests.insights.conftest import login, message, ticket

    client.force_login(world.admin)
    url = records(world.acme, kind)
    client.get(url, QUERY)  # the session and the firm's row warmed
    with CaptureQueriesContext(connection) as few:
        before = client.get(url, QUERY)
    assert before.status_code == 200
    general = thread_ensure_general(world.acme)
    status = Category.objects.get(is_status=True)
    for n in range(6):
        person = factories.client(world.acme, name=f"Extra {n}")
        login(person, f"2026-11-1{n} 08:00")
        message(general, person, f"2026-11-1{n} 09:00", "Any update on this?")
        ticket(world.acme, status, person, f"2026-11-1{n} 10:00", answered=f"2026-11-1{n} 11:00")
    with CaptureQueriesContext(connection) as many:
        response = client.get(url, QUERY)
    assert response.status_code == 200
    rows = r'<tr data-(login|ticket|message)="'
    # The new records are listed.
    assert (
        len(re.findall(rows, response.content.decode()))
        >= len(re.findall(rows, before.content.decode())) + 6
    )
    assert len(many) == len(few)
