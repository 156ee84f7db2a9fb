"""A change to a plan is a ``Change`` row and one event in one thread: the matter's own
thread, else the account's General thread; a privileged matter's reaches its grantees only."""

from __future__ import annotations

from messaging import services as messaging_services
from messaging.models import Event
from projects import events
from projects.announce import plan_announce
from projects.models import Change, Task
from tests import factories
from tests.projects.conftest import general_of, plan_frames, told


def test_an_ordinary_matter_is_told_in_general_with_its_progress(plan, people, acme):
    staff, member = people["staff_on_team"], people["client_member"]
    Task.objects.filter(pk=plan.team.pk).update(done_at=plan.team.created_at)
    seq = plan_announce(
        actor=staff,
        matter=plan.matter,
        event_type=events.TASK_CHANGED,
        summary="Sam Staff moved “Send the logo files”",
        task=plan.mine,
        milestone=plan.design,
    )
    [frame] = plan_frames(general_of(acme))
    assert frame["seq"] == seq
    assert frame["type"] == "task.changed"
    assert frame["summary"] == "Sam Staff moved “Send the logo files”"
    assert frame["by"]["id"] == staff.public_id
    assert frame["matter"] == {
        "id": plan.matter.public_id,
        "title": "Website relaunch",
        "account": acme.public_id,
        "privileged": False,
        "progress": 33,
        "tasks": {"total": 3, "done": 1, "overdue": 0},
    }
    assert frame["task"]["id"] == plan.mine.public_id
    assert frame["milestone"]["id"] == plan.design.public_id
    change = Change.objects.get()
    assert (change.kind, change.actor, change.task, change.milestone) == (
        "task.changed",
        staff,
        plan.mine,
        plan.design,
    )
    # The assignee is told, in the words after the actor's name; nobody else.
    assert told() == {member.name}
    assert member.notifications.get().detail == "moved “Send the logo files”"


def test_a_task_of_the_client_tells_the_clients_people(plan, people):
    plan_announce(
        actor=people["staff_on_team"],
        matter=plan.matter,
        event_type=events.TASK_ADDED,
        summary="Sam Staff added “Fill in the brief”",
        task=plan.clients,
    )
    assert told() == {people["client_member"].name, people["client_admin"].name}


def test_a_milestone_event_notifies_nobody(plan, people, acme):
    plan_announce(
        actor=people["staff_on_team"],
        matter=plan.matter,
        event_type=events.MILESTONE_ADDED,
        summary="Sam Staff added the milestone “Design”",
        milestone=plan.design,
    )
    assert [f["type"] for f in plan_frames(general_of(acme))] == ["milestone.added"]
    assert "task" not in plan_frames()[0]
    assert told() == set()


def test_a_matter_with_threads_is_told_in_its_oldest_only(plan, people, acme):
    staff = people["staff_on_team"]
    first = messaging_services.thread_create(
        actor=staff, account=acme, title="Relaunch", matter=plan.matter
    )
    second = messaging_services.thread_create(
        actor=staff, account=acme, title="Relaunch: copy", matter=plan.matter
    )
    plan_announce(
        actor=staff, matter=plan.matter, event_type=events.PLAN_CHANGED, summary="Sam Staff x"
    )
    assert len(plan_frames(first)) == 1
    assert plan_frames(second) == plan_frames(general_of(acme)) == []


def test_a_privileged_matter_reaches_its_grantees_only(people, acme):
    staff, member, admin = people["staff_on_team"], people["client_member"], people["client_admin"]
    matter = factories.matter(acme, privileged=True, grants=(staff, member), title="Merger")
    wall = messaging_services.thread_create(
        actor=staff, account=acme, title="Merger talks", matter=matter
    )
    task = Task.objects.create(matter=matter, title="Sign the NDA", for_client=True, position=0)
    plan_announce(
        actor=staff,
        matter=matter,
        event_type=events.TASK_ADDED,
        summary="Sam Staff added “Sign the NDA”",
        task=task,
    )
    assert len(plan_frames(wall)) == 1
    assert plan_frames(general_of(acme)) == []
    # A task of the client: the client people granted the matter, not the others.
    assert told() == {member.name}
    assert admin.name not in told()


def test_a_privileged_matter_without_threads_is_told_nowhere_but_recorded(people, acme):
    staff = people["staff_on_team"]
    matter = factories.matter(acme, privileged=True, grants=(staff,), title="Secret")
    seq = plan_announce(
        actor=staff, matter=matter, event_type=events.PLAN_CHANGED, summary="Sam Staff x"
    )
    assert seq is None
    assert not Event.objects.filter(type="matter.plan").exists()
    assert Change.objects.get().matter == matter
