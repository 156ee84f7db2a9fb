"""Lookups and input checks the plan's services share: what is not found, and what is
invalid, with the field it is about."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.errors import Forbidden, Invalid, NotFound
from projects.models import Milestone
from projects.services import lookups
from tests import factories
from vault.models import Folder


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (None, "required"),
        ("", "required"),
        ("  ", "required"),
        (3, "invalid"),
        ("a\x00b", "invalid"),
        ("x" * 201, "too_long"),
    ],
)
def test_a_title_is_required_text(value, code):
    with pytest.raises(Invalid) as refused:
        lookups.checked_title(value)
    assert refused.value.fields == {"title": code}


def test_a_title_is_one_line():
    assert lookups.checked_title("  Send\n the   logo ") == "Send the logo"


@pytest.mark.parametrize(
    "value",
    ["2027-02-30", "27-01-01", "2027-1-1", 20270101, True, dt.datetime(2027, 1, 1, tzinfo=dt.UTC)],
)
def test_a_bad_date_is_invalid(value):
    with pytest.raises(Invalid) as refused:
        lookups.checked_date(value, "due")
    assert refused.value.fields == {"due": "invalid"}


def test_dates_come_as_text_or_dates():
    assert lookups.checked_date("2028-02-29", "due") == dt.date(2028, 2, 29)
    assert lookups.checked_date(dt.date(2027, 1, 1), "due") == dt.date(2027, 1, 1)
    assert lookups.checked_date(None, "due") is None
    with pytest.raises(Invalid) as refused:
        lookups.checked_date(None, "due", required=True)
    assert refused.value.fields == {"due": "required"}


def test_a_milestone_of_another_matter_is_not_found(plan, acme):
    other = factories.matter(acme)
    theirs = Milestone.objects.create(matter=other, title="X", due=dt.date(2027, 1, 1), position=0)
    assert lookups.milestone_in(plan.matter, plan.design.public_id) == plan.design
    for value in (theirs.public_id, "mil_nope", 7):
        with pytest.raises(Invalid) as refused:
            lookups.milestone_in(plan.matter, value)
        assert refused.value.fields == {"milestone": "not_found"}


def test_an_assignee_is_someone_who_sees_the_matter(plan, people):
    assert lookups.assignee_in(plan.matter, "client") == (None, True)
    assert lookups.assignee_in(plan.matter, None) == (None, False)
    member = people["client_member"]
    assert lookups.assignee_in(plan.matter, member.public_id) == (member, False)
    for outsider in ("other_client", "staff_off_team"):
        with pytest.raises(Invalid) as refused:
            lookups.assignee_in(plan.matter, people[outsider].public_id)
        assert refused.value.fields == {"assignee": "not_found"}


def test_an_owner_serves_the_account(plan, people):
    staff = people["staff_on_team"]
    assert lookups.staff_on_team(plan.matter, staff.public_id) == staff
    for refused_person in ("client_admin", "staff_off_team"):
        with pytest.raises(Invalid):
            lookups.staff_on_team(plan.matter, people[refused_person].public_id)


def test_a_folder_of_another_account_is_not_found(plan, acme, globex):
    ours = Folder.objects.create(account=acme, name="Brand")
    theirs = Folder.objects.create(account=globex, name="Brand")
    assert lookups.folder_in(plan.matter, ours.public_id) == ours
    with pytest.raises(Invalid) as refused:
        lookups.folder_in(plan.matter, theirs.public_id)
    assert refused.value.fields == {"folder": "not_found"}


def test_a_task_and_a_milestone_are_found_by_those_who_see_the_matter(plan, people):
    assert lookups.task_for(people["client_member"], plan.mine.public_id) == plan.mine
    assert lookups.milestone_for(people["client_admin"], plan.design.public_id) == plan.design
    for outsider in ("other_client", "staff_off_team"):
        with pytest.raises(NotFound):
            lookups.task_for(people[outsider], plan.mine.public_id)
        with pytest.raises(NotFound):
            lookups.milestone_for(people[outsider], plan.design.public_id)
    with pytest.raises(NotFound):
        lookups.task_for(people["client_member"], "tsk_missing")


def test_changing_the_plan_is_the_account_teams(plan, people):
    lookups.matter_change_check(people["staff_on_team"], plan.matter)
    lookups.matter_change_check(people["firm_admin"], plan.matter)
    with pytest.raises(Forbidden):
        lookups.matter_change_check(people["client_admin"], plan.matter)
    with pytest.raises(NotFound):
        lookups.matter_change_check(people["staff_off_team"], plan.matter)


def test_templates_are_seen_by_firm_staff_only(people):
    assert lookups.templates_visible(people["staff_off_team"])
    assert not lookups.templates_visible(people["client_admin"])
    with pytest.raises(NotFound):
        lookups.template_for(people["client_admin"], "tpl_x")
