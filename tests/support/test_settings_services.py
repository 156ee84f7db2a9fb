"""The firm's support settings as services: firm admins only, every bad input refused with
the field named and nothing written."""

from __future__ import annotations

import pytest

from accounts.errors import Conflict, Forbidden, Invalid
from support.models import Category, Queue, RoutingRule, SlaTarget, SupportSettings
from support.services import categories as cats
from support.services import queues
from support.services import settings as support_settings
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(people):
    return people["firm_admin"]


def refused(call, field: str | None = None, *, error=Invalid, **kwargs):
    with pytest.raises(error) as caught:
        call(**kwargs)
    if field is not None:
        assert field in caught.value.fields, caught.value.fields
    return caught.value


# --- who -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role", ["staff_on_team", "staff_off_team", "client_admin", "client_member", "other_client"]
)
def test_only_firm_admins_change_support_settings(people, role):
    actor = people[role]
    category = cats.category_create(actor=people["firm_admin"], name="Billing")
    queue = queues.queue_create(actor=people["firm_admin"], name="Engineers")
    rule = queues.rule_create(actor=people["firm_admin"], name="All", queue=queue)
    calls = [
        lambda: cats.category_create(actor=actor, name="Other"),
        lambda: cats.category_update(actor=actor, category=category, name="X"),
        lambda: cats.category_archive(actor=actor, category=category),
        lambda: cats.category_move(actor=actor, category=category, offset=1),
        lambda: cats.categories_reorder(actor=actor, order=[category.public_id]),
        lambda: cats.sla_targets_set(
            actor=actor, category=category, targets={"high": {"first_response_minutes": 5}}
        ),
        lambda: queues.queue_create(actor=actor, name="Mine"),
        lambda: queues.queue_rename(actor=actor, queue=queue, name="Ours"),
        lambda: queues.queue_members_set(actor=actor, queue=queue, members=[]),
        lambda: queues.queue_delete(actor=actor, queue=queue),
        lambda: queues.rule_create(actor=actor, name="R", queue=queue),
        lambda: queues.rule_update(actor=actor, rule=rule, name="R2"),
        lambda: queues.rule_move(actor=actor, rule=rule, offset=1),
        lambda: queues.rule_delete(actor=actor, rule=rule),
        lambda: support_settings.support_settings_update(actor=actor, reopen_days=3),
        lambda: cats.category_get(actor=actor, public_id=category.public_id),
        lambda: cats.categories_for_settings(actor=actor),
    ]
    for call in calls:
        with pytest.raises(Forbidden) as caught:
            call()
        assert caught.value.code == "firm_admin_only"
    assert list(Category.objects.values_list("name", flat=True)) == ["Billing"]
    assert list(Queue.objects.values_list("name", flat=True)) == ["Engineers"]
    assert RoutingRule.objects.get().name == "All"
    assert not SlaTarget.objects.exists()


def test_an_inactive_admin_changes_nothing(admin):
    admin.is_active = False
    admin.save(update_fields=["is_active"])
    refused(cats.category_create, error=Forbidden, actor=admin, name="Billing")


# --- categories ------------------------------------------------------------------------------


def test_categories_go_to_the_end_and_move(admin, acme):
    first = cats.category_create(actor=admin, name="Technical question")
    second = cats.category_create(actor=admin, name="Billing", is_status=False)
    third = cats.category_create(
        actor=admin, name="Acme rollout", account=acme, description="  Their project  "
    )
    assert [first.position, second.position, third.position] == [0, 1, 2]
    assert third.account == acme and third.description == "Their project"

    cats.category_move(actor=admin, category=third, offset=-1)
    assert list(Category.objects.values_list("name", flat=True)) == [
        "Technical question",
        "Acme rollout",
        "Billing",
    ]
    cats.category_move(actor=admin, category=first, offset=-1)  # already first: nothing moves
    assert Category.objects.first() == first
    refused(cats.category_move, "offset", actor=admin, category=first, offset=2)

    cats.categories_reorder(actor=admin, order=[second.public_id, third.public_id, first.public_id])
    assert list(Category.objects.values_list("name", flat=True)) == [
        "Billing",
        "Acme rollout",
        "Technical question",
    ]


@pytest.mark.parametrize(
    "order",
    [
        lambda ids: ids[:-1],  # one missing
        lambda ids: [*ids, ids[0]],  # one twice
        lambda ids: [*ids[:-1], "cat_unknown"],
        lambda ids: "not a list",
    ],
)
def test_a_reorder_names_every_category_once(admin, order):
    made = [cats.category_create(actor=admin, name=n) for n in ("A", "B", "C")]
    refused(cats.categories_reorder, "order", actor=admin, order=order([c.public_id for c in made]))
    assert list(Category.objects.values_list("position", flat=True)) == [0, 1, 2]


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"name": "   "}, "name", "required"),
        ({"name": "x" * 81}, "name", "too_long"),
        ({"name": "Ok", "description": "d" * 301}, "description", "too_long"),
        ({"name": "Ok", "is_status": "yes"}, "is_status", "invalid"),
        ({"name": 5}, "name", "invalid"),
    ],
)
def test_a_category_with_bad_fields_is_refused(admin, fields, field, code):
    error = refused(cats.category_create, field, actor=admin, **fields)
    assert error.fields[field] == code
    assert not Category.objects.exists()


def test_category_names_are_unique_where_clients_see_them(admin, acme, globex):
    cats.category_create(actor=admin, name="Billing")
    refused(cats.category_create, "name", actor=admin, name="  billing ")
    refused(cats.category_create, "name", actor=admin, name="BILLING", account=acme)
    cats.category_create(actor=admin, name="Rollout", account=acme)
    cats.category_create(actor=admin, name="Rollout", account=globex)  # another client's list
    refused(cats.category_create, "name", actor=admin, name="Rollout")  # would clash for both
    assert Category.objects.count() == 3


def test_a_category_is_renamed_flagged_archived_and_restored(admin):
    billing = cats.category_create(actor=admin, name="Billing")
    status = cats.category_create(actor=admin, name="Status")
    cats.category_update(actor=admin, category=status, name="Project status", is_status=True)
    status.refresh_from_db()
    assert (status.name, status.is_status) == ("Project status", True)
    refused(cats.category_update, "name", actor=admin, category=status, name="billing")
    refused(cats.category_update, None, actor=admin, category=status)  # nothing to change

    cats.category_archive(actor=admin, category=billing)
    billing.refresh_from_db()
    assert billing.archived
    # Its name is free while it is archived; restoring it then asks for a rename first.
    cats.category_create(actor=admin, name="Billing")
    refused(cats.category_archive, "name", actor=admin, category=billing, archived=False)
    billing.refresh_from_db()
    assert billing.archived


# --- SLA targets -----------------------------------------------------------------------------


def test_sla_targets_are_set_changed_and_removed(admin):
    category = cats.category_create(actor=admin, name="Technical question")
    cats.sla_targets_set(
        actor=admin,
        category=category,
        targets={
            "urgent": {"first_response_minutes": 30, "resolution_minutes": 240},
            "normal": {"first_response_minutes": "240", "resolution_minutes": None},
            "low": {"first_response_minutes": None, "resolution_minutes": ""},
        },
    )
    found = {
        t.priority: (t.first_response_minutes, t.resolution_minutes)
        for t in SlaTarget.objects.all()
    }
    assert found == {"urgent": (30, 240), "normal": (240, None)}

    cats.sla_targets_set(
        actor=admin,
        category=category,
        targets={"urgent": {"first_response_minutes": None, "resolution_minutes": None}},
    )
    assert set(SlaTarget.objects.values_list("priority", flat=True)) == {"normal"}


@pytest.mark.parametrize(
    ("targets", "field"),
    [
        ({"high": {"first_response_minutes": 0}}, "high_first_response"),
        ({"high": {"resolution_minutes": -5}}, "high_resolution"),
        ({"high": {"resolution_minutes": 1.5}}, "high_resolution"),
        ({"high": {"resolution_minutes": "2h"}}, "high_resolution"),
        ({"high": {"resolution_minutes": True}}, "high_resolution"),
        ({"high": {"resolution_minutes": 525_601}}, "high_resolution"),
        ({"critical": {"resolution_minutes": 5}}, "critical"),
        ({"high": {"breakfast_minutes": 5}}, "high"),
        ({"high": 5}, "high"),
    ],
)
def test_bad_sla_targets_are_refused_whole(admin, targets, field):
    category = cats.category_create(actor=admin, name="Technical question")
    good = {"low": {"first_response_minutes": 600, "resolution_minutes": 6000}}
    refused(
        cats.sla_targets_set, field, actor=admin, category=category, targets={**good, **targets}
    )
    assert not SlaTarget.objects.exists()


# --- queues ----------------------------------------------------------------------------------


def test_a_queue_takes_active_firm_staff_only(people, admin):
    engineer = people["staff_on_team"]
    queue = queues.queue_create(actor=admin, name="Implementation engineers", members=[engineer])
    assert list(queue.members.all()) == [engineer]
    for person in (people["client_admin"], factories.staff(active=False)):
        refused(queues.queue_members_set, "members", actor=admin, queue=queue, members=[person])
        refused(queues.queue_create, "members", actor=admin, name="Other", members=[person])
    assert list(queue.members.all()) == [engineer]
    assert Queue.objects.count() == 1

    queues.queue_members_set(actor=admin, queue=queue, members=[admin, people["staff_off_team"]])
    assert set(queue.members.all()) == {admin, people["staff_off_team"]}


def test_a_queue_member_taken_off_is_not_whose_turn_came_last(people, admin):
    engineer = people["staff_on_team"]
    queue = queues.queue_create(actor=admin, name="Engineers", members=[engineer, admin])
    Queue.objects.filter(pk=queue.pk).update(last_assigned=engineer)
    queues.queue_members_set(actor=admin, queue=queue, members=[admin])
    queue.refresh_from_db()
    assert queue.last_assigned is None


def test_queue_names_are_required_and_unique(admin):
    queue = queues.queue_create(actor=admin, name="Engineers")
    refused(queues.queue_create, "name", actor=admin, name="engineers")
    refused(queues.queue_create, "name", actor=admin, name="")
    other = queues.queue_create(actor=admin, name="Billing desk")
    refused(queues.queue_rename, "name", actor=admin, queue=other, name="ENGINEERS")
    queues.queue_rename(actor=admin, queue=queue, name="  Implementation   engineers ")
    queue.refresh_from_db()
    assert queue.name == "Implementation engineers"


def test_a_queue_a_rule_sends_to_is_not_deleted(admin):
    queue = queues.queue_create(actor=admin, name="Engineers")
    rule = queues.rule_create(actor=admin, name="Technical", queue=queue, keywords="API")
    error = refused(queues.queue_delete, error=Conflict, actor=admin, queue=queue)
    assert error.code == "queue_in_use" and "Technical" in error.message
    queues.rule_delete(actor=admin, rule=rule)
    queues.queue_delete(actor=admin, queue=queue)
    assert not Queue.objects.exists()


# --- routing rules ---------------------------------------------------------------------------


def test_a_rule_has_exactly_one_target(people, admin):
    queue = queues.queue_create(actor=admin, name="Engineers")
    staff = people["staff_on_team"]
    refused(queues.rule_create, "queue", actor=admin, name="None")
    refused(queues.rule_create, "assign_to", actor=admin, name="Both", queue=queue, assign_to=staff)
    rule = queues.rule_create(actor=admin, name="Person", assign_to=staff)
    # Switching to the queue alone would leave two targets; with the person taken off, it is one.
    refused(queues.rule_update, "queue", actor=admin, rule=rule, queue=queue)
    queues.rule_update(actor=admin, rule=rule, queue=queue, assign_to=None)
    rule.refresh_from_db()
    assert (rule.queue, rule.assign_to) == (queue, None)
    refused(queues.rule_update, "queue", actor=admin, rule=rule, queue=None)
    assert RoutingRule.objects.get().queue == queue


def test_a_rule_sends_to_active_staff_who_serve_its_account(people, admin, acme):
    refused(
        queues.rule_create, "assign_to", actor=admin, name="R", assign_to=people["client_admin"]
    )
    refused(
        queues.rule_create,
        "assign_to",
        actor=admin,
        name="R",
        assign_to=factories.staff(active=False),
    )
    error = refused(
        queues.rule_create,
        "assign_to",
        actor=admin,
        name="R",
        assign_to=people["staff_off_team"],
        account=acme,
    )
    assert error.code == "not_on_team"
    queues.rule_create(actor=admin, name="Acme", assign_to=people["staff_on_team"], account=acme)
    queues.rule_create(actor=admin, name="Acme admin", assign_to=admin, account=acme)
    assert RoutingRule.objects.count() == 2


def test_a_rules_category_is_the_accounts_own_or_firm_wide(admin, acme, globex):
    queue = queues.queue_create(actor=admin, name="Engineers")
    acme_only = cats.category_create(actor=admin, name="Acme rollout", account=acme)
    firm_wide = cats.category_create(actor=admin, name="Billing")
    refused(
        queues.rule_create,
        "category",
        actor=admin,
        name="R",
        queue=queue,
        category=acme_only,
        account=globex,
    )
    queues.rule_create(actor=admin, name="Any", queue=queue, category=firm_wide, account=globex)
    rule = queues.rule_create(actor=admin, name="Acme", queue=queue, category=acme_only)
    refused(queues.rule_update, "category", actor=admin, rule=rule, account=globex)
    cats.category_archive(actor=admin, category=firm_wide)
    refused(queues.rule_update, "category", actor=admin, rule=rule, category=firm_wide)
    assert RoutingRule.objects.get(pk=rule.pk).category == acme_only


def test_keywords_are_one_per_line(admin):
    queue = queues.queue_create(actor=admin, name="Engineers")
    rule = queues.rule_create(
        actor=admin, name="Tech", queue=queue, keywords="  API \n\nsingle  sign-on\napi\nSSO\n"
    )
    assert rule.keywords == "API\nsingle sign-on\nSSO"
    for bad, code in (
        ("API, SSO, integration", "comma"),
        ("x" * 81, "too_long"),
        ("\n".join(f"word{i}" for i in range(51)), "too_many"),
        (["API"], "invalid"),
    ):
        error = refused(queues.rule_update, "keywords", actor=admin, rule=rule, keywords=bad)
        assert error.fields["keywords"] == code
    rule.refresh_from_db()
    assert rule.keywords == "API\nsingle sign-on\nSSO"


def test_rules_are_tried_in_an_order_that_moves(admin):
    queue = queues.queue_create(actor=admin, name="Engineers")
    a, b, c = (queues.rule_create(actor=admin, name=n, queue=queue) for n in "ABC")
    assert [a.position, b.position, c.position] == [0, 1, 2]
    queues.rule_move(actor=admin, rule=c, offset=-1)
    assert list(RoutingRule.objects.values_list("name", flat=True)) == ["A", "C", "B"]
    queues.rule_move(actor=admin, rule=b, offset=1)  # already last
    queues.rule_delete(actor=admin, rule=a)
    queues.rule_move(actor=admin, rule=b, offset=-1)
    assert list(RoutingRule.objects.values_list("name", flat=True)) == ["B", "C"]


def test_a_rule_update_names_unknown_fields_and_needs_one(admin):
    queue = queues.queue_create(actor=admin, name="Engineers")
    rule = queues.rule_create(actor=admin, name="Tech", queue=queue)
    refused(queues.rule_update, "position", actor=admin, rule=rule, position=5)
    refused(queues.rule_update, None, actor=admin, rule=rule)
    refused(queues.rule_update, "name", actor=admin, rule=rule, name=" ")
    refused(queues.rule_update, "active", actor=admin, rule=rule, active="no")
    queues.rule_update(actor=admin, rule=rule, active=False, name="Tech (off)")
    rule.refresh_from_db()
    assert (rule.name, rule.active) == ("Tech (off)", False)


# --- the calendar, the reopen window, the warning lead --------------------------------------


def test_the_calendar_is_saved_in_order(admin):
    saved = support_settings.support_settings_update(
        actor=admin,
        time_zone="Europe/Berlin",
        hours={"mon": ["13:30-17:30", ["09:00", "12:30"]], "fri": ["09:00-12:30", "12:30-15:00"]},
        holidays=["2026-12-25", "2026-12-24", "2026-12-25"],
        reopen_days="14",
        warn_minutes=30,
    )
    saved = SupportSettings.objects.get(pk=saved.pk)
    assert saved.time_zone == "Europe/Berlin"
    assert saved.hours["mon"] == [["09:00", "12:30"], ["13:30", "17:30"]]
    assert saved.hours["fri"] == [["09:00", "12:30"], ["12:30", "15:00"]]  # touching is fine
    assert saved.hours["sat"] == [] and set(saved.hours) == set(support_settings.WEEKDAYS)
    assert saved.holidays == ["2026-12-24", "2026-12-25"]
    assert (saved.reopen_days, saved.warn_minutes) == (14, 30)


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone", "unknown"),
        ({"time_zone": ""}, "time_zone", "unknown"),
        ({"hours": {"mon": ["9-5"]}}, "hours_mon", "format"),
        ({"hours": {"tue": ["24:00-25:00"]}}, "hours_tue", "format"),
        ({"hours": {"wed": ["17:00-09:00"]}}, "hours_wed", "start_after_end"),
        ({"hours": {"thu": ["09:00-09:00"]}}, "hours_thu", "start_after_end"),
        ({"hours": {"fri": ["09:00-13:00", "12:00-17:00"]}}, "hours_fri", "overlap"),
        ({"hours": {"sat": ["09:00-17:00", "10:00-11:00"]}}, "hours_sat", "overlap"),
        ({"hours": {"sun": [f"0{i}:00-0{i}:30" for i in range(7)]}}, "hours_sun", "too_many"),
        ({"hours": {"holiday": []}}, "hours", "unknown_day"),
        ({"hours": ["mon"]}, "hours", "invalid"),
        ({"holidays": ["2026-02-30"]}, "holidays", "format"),
        ({"holidays": ["25/12/2026"]}, "holidays", "format"),
        ({"holidays": "2026-12-25"}, "holidays", "invalid"),
        ({"reopen_days": -1}, "reopen_days", "out_of_range"),
        ({"reopen_days": 91}, "reopen_days", "out_of_range"),
        ({"warn_minutes": 0}, "warn_minutes", "out_of_range"),
        ({"warn_minutes": "ten"}, "warn_minutes", "out_of_range"),
        ({"colour": "red"}, "colour", "unknown"),
    ],
)
def test_bad_calendar_input_is_refused_whole(admin, fields, field, code):
    before = support_settings.settings_for_edit(actor=admin)
    error = refused(
        support_settings.support_settings_update,
        field,
        actor=admin,
        **{"time_zone": "Europe/Paris", "reopen_days": 3, **fields},
    )
    assert error.fields[field] == code
    after = SupportSettings.objects.get()
    assert (after.time_zone, after.reopen_days, after.hours) == (
        before.time_zone,
        before.reopen_days,
        before.hours,
    )


def test_a_day_may_run_to_midnight(admin):
    saved = support_settings.support_settings_update(
        actor=admin, hours={"sat": ["00:00-24:00"], "sun": ["22:00-24:00", "08:00-09:00"]}
    )
    assert saved.hours["sat"] == [["00:00", "24:00"]]
    assert saved.hours["sun"] == [["08:00", "09:00"], ["22:00", "24:00"]]
    refused(
        support_settings.support_settings_update,
        "hours_mon",
        actor=admin,
        hours={"mon": ["24:00-24:00"]},
    )


def test_an_empty_settings_change_is_refused(admin):
    refused(support_settings.support_settings_update, None, actor=admin)


def test_reopen_days_zero_means_never(admin):
    saved = support_settings.support_settings_update(actor=admin, reopen_days=0)
    assert saved.reopen_days == 0
