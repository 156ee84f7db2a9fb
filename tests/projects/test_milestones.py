"""Milestones: the account team adds, changes, moves and removes them; each change is one
announced event; bad input changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.errors import Forbidden, Invalid, NotFound
from projects import services
from projects.models import Change, Milestone, Task
from tests import factories
from tests.projects.conftest import general_of, plan_frames


def order(matter) -> list[tuple[str, int]]:
    return list(
        Milestone.objects.filter(matter=matter)
        .order_by("position")
        .values_list("title", "position")
    )


def test_the_team_adds_a_milestone_at_the_end_announced_once(plan, people, acme):
    staff = people["staff_on_team"]
    milestone = services.milestone_add(
        actor=staff, matter=plan.matter, title=" Build ", due="2027-02-28"
    )
    assert (milestone.title, milestone.due, milestone.position) == (
        "Build",
        dt.date(2027, 2, 28),
        1,
    )
    [frame] = plan_frames(general_of(acme))
    assert frame["type"] == "milestone.added"
    assert frame["summary"] == "Sam Staff added the milestone “Build”, due 28 Feb 2027"
    assert frame["milestone"]["id"] == milestone.public_id
    assert frame["milestone"]["status"] == "upcoming"
    assert Change.objects.get().milestone == milestone


def test_a_milestone_put_first_moves_the_others_down(plan, people):
    staff = people["staff_on_team"]
    services.milestone_add(actor=staff, matter=plan.matter, title="Build", due="2027-02-28")
    services.milestone_add(
        actor=staff, matter=plan.matter, title="Plan", due="2027-01-01", position=0
    )
    assert order(plan.matter) == [("Plan", 0), ("Design", 1), ("Build", 2)]


@pytest.mark.parametrize(
    ("role", "error"),
    [
        ("client_admin", Forbidden),
        ("client_member", Forbidden),
        ("staff_off_team", NotFound),
        ("other_client", NotFound),
    ],
)
def test_only_the_team_adds_milestones(plan, people, role, error):
    with pytest.raises(error):
        services.milestone_add(actor=people[role], matter=plan.matter, title="X", due="2027-01-01")
    assert Milestone.objects.count() == 1 and not Change.objects.exists()


def test_a_firm_admin_changes_any_plan(plan, people):
    services.milestone_add(
        actor=people["firm_admin"], matter=plan.matter, title="X", due="2027-01-01"
    )
    assert Milestone.objects.count() == 2


def test_an_inactive_team_member_is_refused(plan, people):
    staff = people["staff_on_team"]
    staff.is_active = False
    staff.save(update_fields=["is_active"])
    with pytest.raises(NotFound):
        services.milestone_add(actor=staff, matter=plan.matter, title="X", due="2027-01-01")


def test_a_privileged_matter_is_its_grantees_plan(people, acme):
    staff = people["staff_on_team"]
    other_staff = factories.staff(accounts=(acme,), name="Una Ungranted")
    matter = factories.matter(acme, privileged=True, grants=(staff,))
    services.milestone_add(actor=staff, matter=matter, title="X", due="2027-01-01")
    with pytest.raises(NotFound):
        services.milestone_add(actor=other_staff, matter=matter, title="Y", due="2027-01-01")


def test_bad_input_names_every_field_and_writes_nothing(plan, people):
    with pytest.raises(Invalid) as refused:
        services.milestone_add(
            actor=people["staff_on_team"],
            matter=plan.matter,
            title="",
            due="2027-13-01",
            position=-1,
        )
    assert refused.value.fields == {"title": "required", "due": "invalid", "position": "invalid"}
    with pytest.raises(Invalid) as refused:
        services.milestone_add(
            actor=people["staff_on_team"], matter=plan.matter, title="X", due=None
        )
    assert refused.value.fields == {"due": "required"}
    assert Milestone.objects.count() == 1 and not Change.objects.exists()


def test_renaming_and_moving_in_time_say_what_changed(plan, people):
    staff = people["staff_on_team"]
    services.milestone_change(actor=staff, milestone=plan.design, fields={"title": "Look and feel"})
    services.milestone_change(actor=staff, milestone=plan.design, fields={"due": "2027-02-01"})
    services.milestone_change(actor=staff, milestone=plan.design, fields={"due": "2027-02-01"})
    plan.design.refresh_from_db()
    assert (plan.design.title, plan.design.due) == ("Look and feel", dt.date(2027, 2, 1))
    assert [f["summary"] for f in plan_frames()] == [
        "Sam Staff renamed the milestone “Design” to “Look and feel”",
        "Sam Staff moved the milestone “Look and feel” to 1 Feb 2027",
    ]
    assert [f["type"] for f in plan_frames()] == ["milestone.changed"] * 2


def test_moving_renumbers_the_siblings(plan, people):
    staff = people["staff_on_team"]
    build = services.milestone_add(actor=staff, matter=plan.matter, title="Build", due="2027-02-28")
    launch = services.milestone_add(
        actor=staff, matter=plan.matter, title="Launch", due="2027-03-28"
    )
    services.milestone_change(actor=staff, milestone=launch, fields={"position": 0})
    assert order(plan.matter) == [("Launch", 0), ("Design", 1), ("Build", 2)]
    services.milestone_change(actor=staff, milestone=launch, fields={"position": 99})
    assert order(plan.matter) == [("Design", 0), ("Build", 1), ("Launch", 2)]
    assert plan_frames()[-1]["summary"] == "Sam Staff moved the milestone “Launch” down the plan"
    assert build.pk


def test_unknown_fields_are_refused(plan, people):
    with pytest.raises(Invalid) as refused:
        services.milestone_change(
            actor=people["staff_on_team"], milestone=plan.design, fields={"colour": "red"}
        )
    assert refused.value.fields == {"colour": "unknown"}
    with pytest.raises(Invalid):
        services.milestone_change(actor=people["staff_on_team"], milestone=plan.design, fields={})


def test_a_client_may_not_change_a_milestone(plan, people):
    with pytest.raises(Forbidden):
        services.milestone_change(
            actor=people["client_admin"], milestone=plan.design, fields={"title": "X"}
        )
    assert not Change.objects.exists()


def test_removing_a_milestone_keeps_its_tasks(plan, people, acme):
    staff = people["staff_on_team"]
    build = services.milestone_add(actor=staff, matter=plan.matter, title="Build", due="2027-02-28")
    services.milestone_delete(actor=staff, milestone=plan.design)
    assert not Milestone.objects.filter(pk=plan.design.pk).exists()
    assert Task.objects.filter(matter=plan.matter).count() == 3
    assert set(Task.objects.values_list("milestone", flat=True)) == {None}
    build.refresh_from_db()
    assert build.position == 0
    frame = plan_frames()[-1]
    assert (frame["type"], frame["summary"]) == (
        "milestone.changed",
        "Sam Staff removed the milestone “Design”",
    )
    assert Change.objects.first().milestone is None


def test_a_milestone_moves_one_place_and_stays_put_at_either_end(plan, people, acme):
    staff = people["staff_on_team"]
    build = services.milestone_add(actor=staff, matter=plan.matter, title="Build", due="2027-02-28")
    services.milestone_move(actor=staff, milestone=build, step=-1)
    assert order(plan.matter) == [("Build", 0), ("Design", 1)]
    before = len(plan_frames(general_of(acme)))
    build.refresh_from_db()
    services.milestone_move(actor=staff, milestone=build, step=-1)
    assert order(plan.matter) == [("Build", 0), ("Design", 1)]
    assert len(plan_frames(general_of(acme))) == before
    with pytest.raises(ValueError):
        services.milestone_move(actor=staff, milestone=build, step=2)


@pytest.mark.parametrize(
    ("role", "error"),
    [("client_admin", Forbidden), ("staff_off_team", NotFound), ("other_client", NotFound)],
)
def test_only_the_team_moves_milestones(plan, people, role, error):
    with pytest.raises(error):
        services.milestone_move(actor=people[role], milestone=plan.design, step=1)
    assert order(plan.matter) == [("Design", 0)]
