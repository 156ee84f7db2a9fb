"""The firm's support settings pages: firm admins only (anyone else 404, like the other firm
settings), each form's bad input answered 400 at its field with nothing written."""

from __future__ import annotations

import pytest
from django.urls import reverse

from support.models import Category, Queue, RoutingRule, SlaTarget, SupportSettings
from support.services import categories as cats
from support.services import queues

pytestmark = pytest.mark.django_db

PAGES = ["support_settings", "support_queues", "support_rules", "support_hours"]


@pytest.fixture
def admin_client(client, people):
    client.force_login(people["firm_admin"])
    return client


@pytest.fixture
def setup(people, acme):
    admin = people["firm_admin"]
    category = cats.category_create(actor=admin, name="Technical question")
    queue = queues.queue_create(actor=admin, name="Engineers", members=[people["staff_on_team"]])
    rule = queues.rule_create(actor=admin, name="Tech", queue=queue, keywords="API")
    return {"category": category, "queue": queue, "rule": rule}


def _detail_urls(setup) -> list[str]:
    return [
        reverse("frontend:support_category", args=[setup["category"].public_id]),
        reverse("frontend:support_queue", args=[setup["queue"].public_id]),
        reverse("frontend:support_rule", args=[setup["rule"].public_id]),
    ]


def html(response) -> str:
    return response.content.decode()


@pytest.mark.parametrize(
    "role", ["staff_on_team", "staff_off_team", "client_admin", "client_member", "other_client"]
)
def test_only_firm_admins_see_the_support_settings(client, people, setup, role):
    client.force_login(people[role])
    urls = [reverse(f"frontend:{name}") for name in PAGES] + _detail_urls(setup)
    for url in urls:
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"name": "Sneaky"}).status_code == 404, url
    for name, obj in (("support_category_action", "category"), ("support_rule_action", "rule")):
        url = reverse(f"frontend:{name}", args=[setup[obj].public_id])
        assert client.post(url, {"action": "up"}).status_code == 404
    assert Category.objects.count() == Queue.objects.count() == RoutingRule.objects.count() == 1


def test_signed_out_people_are_sent_to_sign_in(client, setup):
    response = client.get(reverse("frontend:support_settings"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_every_page_shows_for_a_firm_admin(admin_client, setup):
    for url in [reverse(f"frontend:{name}") for name in PAGES] + _detail_urls(setup):
        response = admin_client.get(url)
        assert response.status_code == 200, url
        page = html(response)
        assert 'aria-label="Support settings"' in page
        assert 'href="/settings/support/" aria-current="page"' in page  # the firm's nav
    page = html(admin_client.get(reverse("frontend:support_settings")))
    assert "Technical question" in page
    page = html(admin_client.get(reverse("frontend:support_rules")))
    assert "Engineers" in page and "API" in page


def test_the_firm_settings_nav_links_support(admin_client):
    page = html(admin_client.get(reverse("frontend:branding")))
    assert 'href="/settings/support/"' in page


# --- categories ------------------------------------------------------------------------------


def test_a_category_is_added_and_its_targets_set(admin_client, acme):
    response = admin_client.post(
        reverse("frontend:support_settings"),
        {"name": "Acme rollout", "description": "", "account": acme.public_id, "is_status": "on"},
    )
    made = Category.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("frontend:support_category", args=[made.public_id])
    assert (made.account, made.is_status) == (acme, True)

    url = reverse("frontend:support_category", args=[made.public_id])
    response = admin_client.post(
        url, {"part": "targets", "urgent_first_response": "30", "urgent_resolution": "240"}
    )
    assert response.status_code == 302
    target = SlaTarget.objects.get()
    assert (target.priority, target.first_response_minutes, target.resolution_minutes) == (
        "urgent",
        30,
        240,
    )
    page = html(admin_client.get(reverse("frontend:support_settings")))
    assert "30 min / 4 h" in page


def test_bad_targets_come_back_at_their_field(admin_client, setup):
    url = reverse("frontend:support_category", args=[setup["category"].public_id])
    response = admin_client.post(
        url, {"part": "targets", "low_first_response": "60", "high_resolution": "-3"}
    )
    assert response.status_code == 400
    assert response.context["targets"].errors["high_resolution"]
    assert not SlaTarget.objects.exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "Technical QUESTION"}, "name"),
        ({"name": "x" * 81}, "name"),
    ],
)
def test_a_bad_new_category_comes_back_at_its_field(admin_client, setup, data, field):
    response = admin_client.post(reverse("frontend:support_settings"), {"account": "", **data})
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert Category.objects.count() == 1


def test_a_category_is_renamed_moved_and_archived(admin_client, people, setup):
    second = cats.category_create(actor=people["firm_admin"], name="Billing")
    url = reverse("frontend:support_category", args=[second.public_id])
    response = admin_client.post(
        url, {"part": "details", "name": "Invoices", "description": "Money"}
    )
    assert response.status_code == 302
    second.refresh_from_db()
    assert (second.name, second.description, second.is_status) == ("Invoices", "Money", False)

    action = reverse("frontend:support_category_action", args=[second.public_id])
    assert admin_client.post(action, {"action": "up"}).status_code == 302
    assert list(Category.objects.values_list("name", flat=True)) == [
        "Invoices",
        "Technical question",
    ]
    assert admin_client.post(action, {"action": "sideways"}).status_code == 400
    admin_client.post(action, {"action": "archive"})
    second.refresh_from_db()
    assert second.archived
    assert admin_client.post(url, {"part": "other"}).status_code == 404


# --- queues ----------------------------------------------------------------------------------


def test_a_queue_is_added_with_members(admin_client, people):
    staff = people["staff_on_team"]
    response = admin_client.post(
        reverse("frontend:support_queues"), {"name": "Billing desk", "members": [staff.public_id]}
    )
    assert response.status_code == 302
    assert list(Queue.objects.get().members.all()) == [staff]


def test_a_queue_takes_only_firm_staff(admin_client, people, setup):
    url = reverse("frontend:support_queue", args=[setup["queue"].public_id])
    response = admin_client.post(
        url, {"name": "Engineers", "members": [people["client_admin"].public_id]}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["members"]
    assert list(setup["queue"].members.all()) == [people["staff_on_team"]]


def test_a_queue_in_use_is_not_deleted_and_deletion_asks_first(admin_client, people, setup):
    url = reverse("frontend:support_queue", args=[setup["queue"].public_id])
    response = admin_client.post(url, {"action": "delete"})
    assert response.status_code == 200 and "Delete the queue" in html(response)
    response = admin_client.post(url, {"action": "delete", "confirm": "on"}, follow=True)
    assert "change or delete them first" in html(response)
    assert Queue.objects.exists()
    queues.rule_delete(actor=people["firm_admin"], rule=setup["rule"])
    admin_client.post(url, {"action": "delete", "confirm": "on"})
    assert not Queue.objects.exists()


# --- rules -----------------------------------------------------------------------------------


def test_a_rule_is_added_moved_and_deleted(admin_client, people, acme, setup):
    response = admin_client.post(
        reverse("frontend:support_rules"),
        {
            "name": "Acme to Sam",
            "category": setup["category"].public_id,
            "account": acme.public_id,
            "keywords": "SSO\nintegration",
            "target": f"person:{people['staff_on_team'].public_id}",
            "active": "on",
        },
    )
    assert response.status_code == 302
    made = RoutingRule.objects.get(name="Acme to Sam")
    assert (made.assign_to, made.account, made.keywords, made.position) == (
        people["staff_on_team"],
        acme,
        "SSO\nintegration",
        1,
    )
    action = reverse("frontend:support_rule_action", args=[made.public_id])
    admin_client.post(action, {"action": "up"})
    assert list(RoutingRule.objects.values_list("name", flat=True)) == ["Acme to Sam", "Tech"]
    response = admin_client.post(action, {"action": "delete"})
    assert "Delete the rule" in html(response)
    admin_client.post(action, {"action": "delete", "confirm": "on"})
    assert list(RoutingRule.objects.values_list("name", flat=True)) == ["Tech"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"target": ""}, "target"),
        ({"name": ""}, "name"),
        ({"keywords": "API, SSO"}, "keywords"),
        ({"account": "acc_nonexistent"}, "account"),
    ],
)
def test_a_bad_rule_comes_back_at_its_field(admin_client, setup, data, field):
    good = {
        "name": "R",
        "category": "",
        "account": "",
        "keywords": "",
        "target": f"queue:{setup['queue'].public_id}",
    }
    response = admin_client.post(reverse("frontend:support_rules"), {**good, **data})
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert RoutingRule.objects.count() == 1


def test_a_rule_for_someone_off_the_account_is_refused(admin_client, people, acme, setup):
    url = reverse("frontend:support_rule", args=[setup["rule"].public_id])
    response = admin_client.post(
        url,
        {
            "name": "Tech",
            "account": acme.public_id,
            "target": f"person:{people['staff_off_team'].public_id}",
        },
    )
    assert response.status_code == 400
    assert "does not serve" in response.context["form"].errors["target"][0]
    setup["rule"].refresh_from_db()
    assert setup["rule"].queue == setup["queue"]


# --- the calendar ----------------------------------------------------------------------------

GOOD_HOURS = {
    "time_zone": "Europe/London",
    "hours_mon": "09:00-12:30, 13:30-17:30",
    "hours_tue": "09:00-17:30",
    "holidays": "2026-12-25\n2026-12-26",
    "reopen_days": "7",
    "warn_minutes": "60",
}


def test_the_hours_are_saved(admin_client):
    response = admin_client.post(reverse("frontend:support_hours"), GOOD_HOURS)
    assert response.status_code == 302
    found = SupportSettings.objects.get()
    assert found.hours["mon"] == [["09:00", "12:30"], ["13:30", "17:30"]]
    assert found.hours["wed"] == []
    assert found.holidays == ["2026-12-25", "2026-12-26"]
    page = html(admin_client.get(reverse("frontend:support_hours")))
    assert 'value="09:00-12:30, 13:30-17:30"' in page


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"hours_wed": "17:00-09:00"}, "hours_wed"),
        ({"hours_thu": "09:00-13:00, 12:00-17:00"}, "hours_thu"),
        ({"hours_fri": "nine to five"}, "hours_fri"),
        ({"holidays": "Christmas"}, "holidays"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"reopen_days": "-1"}, "reopen_days"),
        ({"warn_minutes": ""}, "warn_minutes"),
    ],
)
def test_bad_hours_come_back_at_their_field(admin_client, data, field):
    response = admin_client.post(reverse("frontend:support_hours"), {**GOOD_HOURS, **data})
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert not SupportSettings.objects.filter(time_zone="Europe/London").exists()


def test_a_nul_character_is_refused(admin_client):
    response = admin_client.post(
        reverse("frontend:support_hours"), {**GOOD_HOURS, "holidays": "a\x00"}
    )
    assert response.status_code == 400
    assert not SupportSettings.objects.filter(time_zone="Europe/London").exists()


def test_the_settings_lists_cost_the_same_for_one_row_or_many(admin_client, people, setup):
    """Categories with their SLA targets, queues with their members, rules with their
    targets: the number of queries does not grow with the rows listed."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def counts() -> dict[str, int]:
        found = {}
        for name in PAGES:
            with CaptureQueriesContext(connection) as queries:
                assert admin_client.get(reverse(f"frontend:{name}")).status_code == 200
            found[name] = len(queries)
        return found

    counts()  # the first visit makes the firm's and the support settings' rows
    one = counts()
    admin = people["firm_admin"]
    for n in range(5):
        category = cats.category_create(actor=admin, name=f"Category {n}")
        cats.sla_targets_set(
            actor=admin,
            category=category,
            targets={"high": {"first_response_minutes": 30, "resolution_minutes": 240}},
        )
        queue = queues.queue_create(
            actor=admin, name=f"Queue {n}", members=[people["staff_on_team"], admin]
        )
        queues.rule_create(actor=admin, name=f"Rule {n}", queue=queue, category=category)
        queues.rule_create(actor=admin, name=f"Person {n}", assign_to=people["staff_on_team"])
    assert counts() == one
