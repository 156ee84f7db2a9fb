"""Tasks: who may tick which, who may change them, what each change announces and to whom,
and bad input refused with every field named and nothing written."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.errors import Forbidden, Invalid, NotFound
from messaging.models import Notification
from projects import services
from projects.models import Change, Milestone, Task
from tests import factories
from tests.projects.conftest import general_of, plan_frames, told
from vault.models import Folder

ROLES = (
    "firm_admin",
    "staff_on_team",
    "staff_off_team",
    "client_admin",
    "client_member",
    "other_client",
)

# Who may tick (True), sees but may not (Forbidden), or does not see (NotFound), per task.
TICK = {
    "mine": {  # assigned to Morgan (client_member)
        "firm_admin": True,
        "staff_on_team": True,
        "staff_off_team": NotFound,
        "client_admin": Forbidden,
        "client_member": True,
        "other_client": NotFound,
    },
    "clients": {  # for "the client"
        "firm_admin": True,
        "staff_on_team": True,
        "staff_off_team": NotFound,
        "client_admin": True,
        "client_member": True,
        "other_client": NotFound,
    },
    "team": {  # assigned to Sam (staff_on_team)
        "firm_admin": True,
        "staff_on_team": True,
        "staff_off_team": NotFound,
        "client_admin": Forbidden,
        "client_member": Forbidden,
        "other_client": NotFound,
    },
}


@pytest.mark.parametrize("which", sorted(TICK))
@pytest.mark.parametrize("role", ROLES)
def test_who_may_tick_a_task(plan, people, which, role):
    task, expected = getattr(plan, which), TICK[which][role]
    if expected is True:
        services.task_set_done(actor=people[role], task=task, done=True)
        task.refresh_from_db()
        assert task.done and task.done_by == people[role]
        assert [f["type"] for f in plan_frames()] == ["task.done"]
    else:
        with pytest.raises(expected):
            services.task_set_done(actor=people[role], task=task, done=True)
        task.refresh_from_db()
        assert not task.done and not Change.objects.exists()


@pytest.mark.parametrize("role", ROLES)
def test_only_the_team_changes_a_task(plan, people, role):
    expected = {
        "firm_admin": True,
        "staff_on_team": True,
        "client_admin": Forbidden,
        "client_member": Forbidden,
    }.get(role, NotFound)
    if expected is True:
        services.task_change(actor=people[role], task=plan.mine, fields={"title": "Send the logos"})
        plan.mine.refresh_from_db()
        assert plan.mine.title == "Send the logos"
    else:
        with pytest.raises(expected):
            services.task_change(
                actor=people[role], task=plan.mine, fields={"title": "Send the logos"}
            )
        assert not Change.objects.exists()


def test_the_assignee_may_tick_but_not_rename_in_one_change(plan, people):
    member = people["client_member"]
    with pytest.raises(Forbidden):
        services.task_change(actor=member, task=plan.mine, fields={"done": True, "title": "Mine"})
    plan.mine.refresh_from_db()
    assert not plan.mine.done and plan.mine.title == "Send the logo files"
    services.task_change(actor=member, task=plan.mine, fields={"done": True})
    plan.mine.refresh_from_db()
    assert plan.mine.done


def test_an_inactive_assignee_may_not_tick(plan, people):
    member = people["client_member"]
    member.is_active = False
    member.save(update_fields=["is_active"])
    with pytest.raises(NotFound):
        services.task_set_done(actor=member, task=plan.mine, done=True)


def test_a_privileged_matter_s_tasks_are_its_grantees(people, acme):
    staff, member, admin = people["staff_on_team"], people["client_member"], people["client_admin"]
    matter = factories.matter(acme, privileged=True, grants=(staff, member))
    task = services.task_add(actor=staff, matter=matter, title="Sign", assignee="client")
    with pytest.raises(NotFound):
        services.task_set_done(actor=admin, task=task, done=True)
    with pytest.raises(NotFound):
        services.task_set_done(actor=factories.staff(accounts=(acme,)), task=task, done=True)
    services.task_set_done(actor=member, task=task, done=True)
    task.refresh_from_db()
    assert task.done
    # Only a grantee may be given a task of a privileged matter.
    with pytest.raises(Invalid) as refused:
        services.task_add(actor=staff, matter=matter, title="X", assignee=admin.public_id)
    assert refused.value.fields == {"assignee": "not_found"}


def test_ticking_and_reopening_are_announced_with_the_progress(plan, people, acme):
    member = people["client_member"]
    services.task_set_done(actor=member, task=plan.mine, done=True)
    services.task_set_done(actor=member, task=plan.mine, done=True)  # no change, no event
    (done,) = plan_frames(general_of(acme))
    assert done["summary"] == "Morgan Member ticked “Send the logo files”"
    assert done["matter"]["progress"] == 33
    assert done["task"]["done"] is True and done["task"]["done_by"]["id"] == member.public_id
    assert done["milestone"]["progress"] == 50 and done["milestone"]["status"] == "in_progress"
    services.task_set_done(actor=people["staff_on_team"], task=plan.mine, done=False)
    reopened = plan_frames()[-1]
    assert (reopened["type"], reopened["matter"]["progress"]) == ("task.reopened", 0)
    plan.mine.refresh_from_db()
    assert plan.mine.done_at is None and plan.mine.done_by is None
    # The assignee, not the actor, is told of a change by someone else.
    assert told() == {member.name}
    with pytest.raises(Invalid):
        services.task_set_done(actor=member, task=plan.mine, done="yes")


def test_a_task_added_goes_to_the_end_and_tells_its_assignee(plan, people, acme):
    staff, member = people["staff_on_team"], people["client_member"]
    task = services.task_add(
        actor=staff,
        matter=plan.matter,
        title="Approve the copy",
        milestone=plan.design.public_id,
        assignee=member.public_id,
        due="2027-01-10",
    )
    assert (task.position, task.milestone, task.assignee, task.due, task.kind) == (
        3,
        plan.design,
        member,
        dt.date(2027, 1, 10),
        "todo",
    )
    frame = plan_frames(general_of(acme))[-1]
    assert frame["type"] == "task.added" and frame["task"]["id"] == task.public_id
    assert frame["matter"]["tasks"]["total"] == 4
    assert Notification.objects.get(kind="task").user == member


def test_a_task_of_the_client_tells_every_client_person(plan, people):
    services.task_add(
        actor=people["staff_on_team"], matter=plan.matter, title="Brief", assignee="client"
    )
    assert told() == {people["client_admin"].name, people["client_member"].name}


def test_bad_input_names_every_field_and_writes_nothing(plan, people, acme):
    other = factories.matter(acme)
    theirs = Milestone.objects.create(matter=other, title="X", due=dt.date(2027, 1, 1), position=0)
    with pytest.raises(Invalid) as refused:
        services.task_add(
            actor=people["staff_on_team"],
            matter=plan.matter,
            title=" ",
            milestone=theirs.public_id,
            assignee=people["other_client"].public_id,
            due="31/01/2027",
            kind="chore",
        )
    assert refused.value.fields == {
        "title": "required",
        "milestone": "not_found",
        "assignee": "not_found",
        "due": "invalid",
        "kind": "invalid",
    }
    with pytest.raises(Invalid) as refused:
        services.task_add(
            actor=people["staff_on_team"], matter=plan.matter, title="Logo", kind="upload"
        )
    assert refused.value.fields == {"folder": "required"}
    with pytest.raises(Invalid) as refused:
        services.task_add(
            actor=people["staff_on_team"], matter=plan.matter, title="OK?", kind="approval"
        )
    assert refused.value.fields == {"approval": "required"}
    assert Task.objects.count() == 3 and not Change.objects.exists()


def test_an_upload_task_waits_in_a_folder_of_the_account(plan, people, acme, globex):
    staff = people["staff_on_team"]
    theirs = Folder.objects.create(account=globex, name="Brand")
    with pytest.raises(Invalid) as refused:
        services.task_add(
            actor=staff, matter=plan.matter, title="Logo", kind="upload", folder=theirs.public_id
        )
    assert refused.value.fields == {"folder": "not_found"}
    ours = Folder.objects.create(account=acme, name="Brand")
    task = services.task_add(
        actor=staff, matter=plan.matter, title="Logo", kind="upload", folder=ours.public_id
    )
    assert task.folder == ours
    # Another kind drops the folder; naming a folder for it is refused.
    with pytest.raises(Invalid) as refused:
        services.task_change(
            actor=staff, task=task, fields={"kind": "todo", "folder": ours.public_id}
        )
    assert refused.value.fields == {"folder": "invalid"}
    services.task_change(actor=staff, task=task, fields={"kind": "todo"})
    task.refresh_from_db()
    assert (task.kind, task.folder) == ("todo", None)


def test_changes_say_what_changed_and_nothing_changed_says_nothing(plan, people):
    staff, admin = people["staff_on_team"], people["client_admin"]
    services.task_change(actor=staff, task=plan.team, fields={"due": "2027-02-03"})
    services.task_change(actor=staff, task=plan.team, fields={"assignee": admin.public_id})
    services.task_change(actor=staff, task=plan.team, fields={"milestone": plan.design.public_id})
    services.task_change(actor=staff, task=plan.team, fields={"milestone": plan.design.public_id})
    services.task_change(actor=staff, task=plan.team, fields={"title": "Sitemap", "due": None})
    assert [f["summary"] for f in plan_frames()] == [
        "Sam Staff moved “Draft the sitemap” to 3 Feb 2027",
        "Sam Staff gave “Draft the sitemap” to Alex Acme",
        "Sam Staff moved “Draft the sitemap” to the milestone “Design”",
        "Sam Staff changed the task “Sitemap” (title, due date)",
    ]
    plan.team.refresh_from_db()
    assert (plan.team.assignee, plan.team.for_client, plan.team.due) == (admin, False, None)
    # The new assignee is told.
    assert admin.notifications.filter(kind="task").exists()
    services.task_change(actor=staff, task=plan.team, fields={"assignee": "client"})
    plan.team.refresh_from_db()
    assert (plan.team.assignee, plan.team.for_client) == (None, True)


def test_removing_a_task_is_the_teams_and_moves_the_progress(plan, people):
    with pytest.raises(Forbidden):
        services.task_delete(actor=people["client_member"], task=plan.mine)
    services.task_set_done(actor=people["staff_on_team"], task=plan.team, done=True)
    services.task_delete(actor=people["staff_on_team"], task=plan.mine)
    assert not Task.objects.filter(title="Send the logo files").exists()
    frame = plan_frames()[-1]
    assert frame["type"] == "task.changed"
    assert frame["summary"] == "Sam Staff removed the task “Send the logo files”"
    assert frame["matter"]["progress"] == 50
    assert Change.objects.first().task is None


def test_removing_a_privileged_matters_task_is_for_its_granted_team(people, acme):
    staff = people["staff_on_team"]
    ungranted = factories.staff(accounts=(acme,), name="Una Ungranted")
    matter = factories.matter(acme, privileged=True, grants=(staff,))
    task = services.task_add(actor=staff, matter=matter, title="Sign")
    for outsider in (ungranted, people["client_admin"], people["other_client"]):
        with pytest.raises(NotFound):
            services.task_delete(actor=outsider, task=task)
    assert Task.objects.filter(pk=task.pk).exists()
    services.task_delete(actor=staff, task=task)
    assert not Task.objects.filter(pk=task.pk).exists()
