"""A matter's plan as a whole: opened from a checklist template (due dates are the start plus
whole days, across month ends, leap days and time zones) or empty, and changed by the
account team, each change one event."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.errors import Forbidden, Invalid, NotFound
from accounts.models import Matter
from projects import services
from projects.models import Change, ChecklistTemplate, Milestone, Task
from tests import factories
from tests.projects.conftest import general_of, plan_frames
from vault.models import Folder

ROLLOUT = {
    "name": "12-week SaaS rollout",
    "milestones": [
        {"title": "Kick-off", "offset_days": 0},
        {"title": "Configuration", "offset_days": 30},
        {"title": "Go-live", "offset_days": 84},
    ],
    "tasks": [
        {
            "title": "Send the admin list",
            "kind": "upload",
            "for_client": True,
            "offset_days": 7,
            "folder": "Onboarding",
            "milestone": 0,
        },
        {"title": "Configure SSO", "offset_days": 28, "milestone": 1},
        {
            "title": "Sign off go-live",
            "kind": "approval",
            "for_client": True,
            "offset_days": 84,
            "milestone": 2,
        },
        {
            "title": "Upload the data export",
            "kind": "upload",
            "for_client": True,
            "offset_days": 31,
            "folder": "Onboarding",
        },
        {"title": "Retrospective", "offset_days": 90},
    ],
}


@pytest.fixture
def rollout(people):
    return services.template_create(actor=people["firm_admin"], **ROLLOUT)


def test_a_matter_from_a_template(rollout, people, acme):
    staff, owner = people["staff_on_team"], factories.staff(accounts=(acme,), name="Olga Owner")
    matter = services.matter_plan_create(
        actor=staff,
        account=acme,
        title="Rollout",
        template=rollout.public_id,
        start="2027-01-31",
        owner=owner.public_id,
    )
    assert (matter.start_date, matter.target_date, matter.owner) == (
        dt.date(2027, 1, 31),
        dt.date(2027, 5, 1),
        owner,
    )
    milestones = list(Milestone.objects.filter(matter=matter).order_by("position"))
    assert [(m.title, m.due, m.position) for m in milestones] == [
        ("Kick-off", dt.date(2027, 1, 31), 0),
        ("Configuration", dt.date(2027, 3, 2), 1),  # 30 days after Jan 31, no leap year
        ("Go-live", dt.date(2027, 4, 25), 2),
    ]
    tasks = list(Task.objects.filter(matter=matter).order_by("position"))
    assert [(t.title, t.due, t.milestone) for t in tasks] == [
        ("Send the admin list", dt.date(2027, 2, 7), milestones[0]),
        ("Configure SSO", dt.date(2027, 2, 28), milestones[1]),
        ("Sign off go-live", dt.date(2027, 4, 25), milestones[2]),
        ("Upload the data export", dt.date(2027, 3, 3), None),
        ("Retrospective", dt.date(2027, 5, 1), None),
    ]
    # The client's tasks are the client's; the others the owner's.
    assert [(t.for_client, t.assignee) for t in tasks] == [
        (True, None),
        (False, owner),
        (True, None),
        (True, None),
        (False, owner),
    ]
    # Both upload tasks wait in one top-level folder of the account, made for them.
    folder = Folder.objects.get(account=acme, name="Onboarding", parent=None)
    assert {t.folder for t in tasks if t.kind == "upload"} == {folder}
    # One event for all of it.
    [frame] = plan_frames(general_of(acme))
    assert frame["type"] == "matter.plan"
    assert frame["summary"] == (
        "Sam Staff started “Rollout” from “12-week SaaS rollout” on 31 Jan 2027: "
        "3 milestones, 5 tasks"
    )
    assert frame["matter"]["tasks"]["total"] == 5
    assert Change.objects.filter(matter=matter).count() == 1


def test_an_existing_folder_of_that_name_is_used(rollout, people, acme):
    folder = Folder.objects.create(account=acme, name="Onboarding")
    matter = services.matter_plan_create(
        actor=people["staff_on_team"], account=acme, title="R", template=rollout, start="2028-02-01"
    )
    assert set(
        Task.objects.filter(matter=matter, kind="upload").values_list("folder", flat=True)
    ) == {folder.pk}
    assert Folder.objects.filter(account=acme).count() == 1


def test_without_an_owner_the_tasks_are_the_actors(rollout, people, acme):
    staff = people["staff_on_team"]
    matter = services.matter_plan_create(actor=staff, account=acme, title="R", template=rollout)
    assert set(
        Task.objects.filter(matter=matter, for_client=False).values_list("assignee", flat=True)
    ) == {staff.pk}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    start=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2090, 12, 31)),
    offsets=st.lists(st.integers(min_value=0, max_value=3650), min_size=1, max_size=4),
)
def test_due_dates_are_the_start_plus_whole_days(people, acme, start, offsets):
    template = ChecklistTemplate.objects.create(name=uuid.uuid4().hex)
    for position, offset in enumerate(offsets):
        template.milestones.create(title=f"M{position}", offset_days=offset, position=position)
        template.tasks.create(title=f"T{position}", offset_days=offset, position=position)
    matter = services.matter_plan_create(
        actor=people["staff_on_team"],
        account=acme,
        title="Plan",
        template=template,
        start=start.isoformat(),
    )
    dues = sorted(Milestone.objects.filter(matter=matter).values_list("due", flat=True))
    assert dues == sorted(start + dt.timedelta(days=offset) for offset in offsets)
    assert sorted(Task.objects.filter(matter=matter).values_list("due", flat=True)) == dues
    matter.refresh_from_db()
    assert (matter.start_date, matter.target_date) == (start, max(dues))


@pytest.mark.parametrize(
    ("start", "offset", "due"),
    [
        ("2027-01-31", 30, "2027-03-02"),
        ("2028-01-31", 30, "2028-03-01"),  # leap year
        ("2028-02-28", 1, "2028-02-29"),
        ("2100-02-28", 1, "2100-03-01"),  # not a leap year
        ("2027-12-31", 1, "2028-01-01"),
        ("2027-03-28", 1, "2027-03-29"),  # across a daylight-saving change: still one day
    ],
)
def test_month_ends_and_leap_days(people, acme, start, offset, due):
    template = ChecklistTemplate.objects.create(name="T")
    template.milestones.create(title="M", offset_days=offset, position=0)
    matter = services.matter_plan_create(
        actor=people["staff_on_team"], account=acme, title="Plan", template=template, start=start
    )
    assert Milestone.objects.get(matter=matter).due == dt.date.fromisoformat(due)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    # Hypothesis bounds are naive; the instants it draws are given the UTC zone.
    instant=st.datetimes(
        min_value=dt.datetime(2026, 1, 1),  # noqa: DTZ001
        max_value=dt.datetime(2030, 12, 31),  # noqa: DTZ001
        timezones=st.just(dt.UTC),
    ),
    zone=st.sampled_from(
        [
            "Pacific/Kiritimati",
            "Pacific/Pago_Pago",
            "Europe/Paris",
            "America/New_York",
            "Asia/Kolkata",
            "UTC",
        ]
    ),
)
def test_the_default_start_is_today_where_the_actor_is(people, acme, instant, zone):
    template = ChecklistTemplate.objects.create(name=uuid.uuid4().hex)
    template.milestones.create(title="M", offset_days=1, position=0)
    with mock.patch("django.utils.timezone.now", return_value=instant), timezone.override(zone):
        matter = services.matter_plan_create(
            actor=people["staff_on_team"], account=acme, title="Plan", template=template
        )
    local = instant.astimezone(zoneinfo.ZoneInfo(zone)).date()
    assert matter.start_date == local
    assert Milestone.objects.get(matter=matter).due == local + dt.timedelta(days=1)


def test_an_empty_plan_is_opened_and_announced(people, acme):
    matter = services.matter_plan_create(
        actor=people["staff_on_team"],
        account=acme,
        title=" Audit ",
        description="Yearly",
        start="2027-01-01",
        target="2027-02-01",
    )
    assert (matter.title, matter.description, matter.start_date, matter.target_date) == (
        "Audit",
        "Yearly",
        dt.date(2027, 1, 1),
        dt.date(2027, 2, 1),
    )
    assert [f["summary"] for f in plan_frames()] == ["Sam Staff opened “Audit”"]
    assert not Milestone.objects.exists()


@pytest.mark.parametrize(
    ("role", "error"),
    [
        ("client_admin", Forbidden),
        ("client_member", Forbidden),
        ("staff_off_team", NotFound),
        ("other_client", NotFound),
    ],
)
def test_only_the_team_opens_matters(rollout, people, acme, role, error):
    with pytest.raises(error):
        services.matter_plan_create(actor=people[role], account=acme, title="X", template=rollout)
    assert not Matter.objects.exists()


def test_bad_input_names_every_field_and_writes_nothing(people, acme):
    with pytest.raises(Invalid) as refused:
        services.matter_plan_create(
            actor=people["staff_on_team"],
            account=acme,
            title="",
            template="tpl_nope",
            start="2027-02-30",
            owner=people["client_admin"].public_id,
            privileged="no",
        )
    assert refused.value.fields == {
        "title": "required",
        "template": "not_found",
        "start": "invalid",
        "owner": "not_found",
        "privileged": "invalid",
    }
    with pytest.raises(Invalid) as refused:
        services.matter_plan_create(
            actor=people["staff_on_team"],
            account=acme,
            title="X",
            start="2027-02-01",
            target="2027-01-31",
        )
    assert refused.value.fields == {"target": "before_start"}
    assert not Matter.objects.exists() and not Change.objects.exists()


def test_a_privileged_matter_is_granted_to_its_owner(rollout, people, acme):
    staff, owner = people["staff_on_team"], factories.staff(accounts=(acme,))
    matter = services.matter_plan_create(
        actor=staff,
        account=acme,
        title="Merger",
        privileged=True,
        owner=owner.public_id,
        template=rollout,
    )
    services.task_set_done(actor=owner, task=matter.tasks.filter(assignee=owner).first(), done=True)
    # No privileged thread yet: recorded, told nowhere.
    assert plan_frames() == []
    assert Change.objects.filter(matter=matter).count() == 2


def test_changing_the_plan(plan, people):
    staff, admin = people["staff_on_team"], people["firm_admin"]
    services.matter_plan_change(actor=staff, matter=plan.matter, fields={"start": "2027-01-04"})
    services.matter_plan_change(actor=staff, matter=plan.matter, fields={"target": "2027-03-01"})
    services.matter_plan_change(actor=staff, matter=plan.matter, fields={"owner": admin.public_id})
    services.matter_plan_change(actor=staff, matter=plan.matter, fields={"owner": admin.public_id})
    services.matter_plan_change(
        actor=staff, matter=plan.matter, fields={"title": "Relaunch", "description": "New site"}
    )
    assert [f["summary"] for f in plan_frames()] == [
        "Sam Staff set the start of “Website relaunch” to 4 Jan 2027",
        "Sam Staff set the target date of “Website relaunch” to 1 Mar 2027",
        "Sam Staff made Fiona Admin the owner of “Website relaunch”",
        "Sam Staff changed the plan of “Relaunch” (title, description)",
    ]
    plan.matter.refresh_from_db()
    assert (plan.matter.title, plan.matter.owner) == ("Relaunch", admin)


def test_a_target_before_the_start_is_refused(plan, people):
    staff = people["staff_on_team"]
    services.matter_plan_change(
        actor=staff, matter=plan.matter, fields={"start": "2027-01-04", "target": "2027-02-01"}
    )
    with pytest.raises(Invalid) as refused:
        services.matter_plan_change(
            actor=staff, matter=plan.matter, fields={"target": "2027-01-03"}
        )
    assert refused.value.fields == {"target": "before_start"}
    with pytest.raises(Invalid) as refused:
        services.matter_plan_change(actor=staff, matter=plan.matter, fields={"start": "2027-03-01"})
    assert refused.value.fields == {"start": "after_target"}
    with pytest.raises(Invalid) as refused:
        services.matter_plan_change(
            actor=staff,
            matter=plan.matter,
            fields={"owner": people["staff_off_team"].public_id, "sky": 1},
        )
    assert refused.value.fields == {"sky": "unknown"}
    plan.matter.refresh_from_db()
    assert plan.matter.target_date == dt.date(2027, 2, 1)


@pytest.mark.parametrize(
    ("role", "error"),
    [("client_admin", Forbidden), ("staff_off_team", NotFound), ("other_client", NotFound)],
)
def test_only_the_team_changes_the_plan(plan, people, role, error):
    with pytest.raises(error):
        services.matter_plan_change(actor=people[role], matter=plan.matter, fields={"title": "X"})
    with pytest.raises(error):
        services.template_instantiate(
            actor=people[role], matter=plan.matter, template=None, start="2027-01-01"
        )


def test_applying_a_template_to_an_existing_plan_adds_after_it(plan, rollout, people):
    services.template_instantiate(
        actor=people["staff_on_team"], matter=plan.matter, template=rollout, start="2027-01-01"
    )
    positions = list(
        Milestone.objects.filter(matter=plan.matter)
        .order_by("position")
        .values_list("title", "position")
    )
    assert positions[:2] == [("Design", 0), ("Kick-off", 1)]
    assert Task.objects.filter(matter=plan.matter).count() == 8
    assert len(plan_frames(prefix="matter.plan")) == 1


def _template_of(size: int) -> ChecklistTemplate:
    template = ChecklistTemplate.objects.create(name=f"{size} tasks")
    for n in range(size):
        template.milestones.create(title=f"M{n}", offset_days=n, position=n)
        template.tasks.create(
            title=f"T{n}",
            kind="upload" if n % 2 else "todo",
            folder_name="Brand" if n % 2 else "",
            for_client=n % 3 == 0,
            offset_days=n,
            position=n,
        )
    return ChecklistTemplate.objects.prefetch_related("milestones", "tasks").get(pk=template.pk)


def test_a_template_takes_the_same_queries_whatever_its_size(people, acme):
    staff = people["staff_on_team"]
    # The upload tasks' folder is made the first time only: both runs find it.
    Folder.objects.create(account=acme, name="Brand")
    counts = []
    for size in (3, 40):
        template = _template_of(size)
        matter = factories.matter(acme)
        with CaptureQueriesContext(connection) as queries:
            services.template_instantiate(
                actor=staff, matter=matter, template=template, start="2027-01-01"
            )
        counts.append(len(queries))
        assert Task.objects.filter(matter=matter).count() == size
    assert counts[0] == counts[1], counts


def test_a_privileged_plan_is_changed_by_its_grantees_only(people, acme):
    staff = people["staff_on_team"]
    ungranted = factories.staff(accounts=(acme,), name="Una Ungranted")
    matter = factories.matter(acme, privileged=True, grants=(staff, people["client_member"]))
    with pytest.raises(NotFound):
        services.matter_plan_change(actor=ungranted, matter=matter, fields={"title": "X"})
    with pytest.raises(Forbidden):
        services.matter_plan_change(
            actor=people["client_member"], matter=matter, fields={"title": "X"}
        )
    with pytest.raises(NotFound):
        services.matter_plan_change(
            actor=people["client_admin"], matter=matter, fields={"title": "X"}
        )
    # The owner of a privileged matter is someone granted it.
    with pytest.raises(Invalid) as refused:
        services.matter_plan_change(
            actor=staff, matter=matter, fields={"owner": ungranted.public_id}
        )
    assert refused.value.fields == {"owner": "not_found"}
    services.matter_plan_change(actor=staff, matter=matter, fields={"title": "Merger"})
    matter.refresh_from_db()
    assert matter.title == "Merger"
