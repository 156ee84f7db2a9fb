"""Tasks done by what they wait for: a real vault upload into an upload task's folder, and a
real approval decision on an approval task's request."""

from __future__ import annotations

import pytest

from approvals import services as approval_services
from messaging.models import Notification
from projects import services
from projects.models import Task
from tests import factories
from tests.projects.conftest import plan_frames
from tests.vault.helpers import sealed_upload
from vault import services as vault_services
from vault.models import Folder


def uploaded(actor, account, folder=None, *, data=b"logo\n", **kwargs):
    return vault_services.document_create(
        actor=actor,
        account=account,
        upload=sealed_upload(data, "logo.png"),
        folder=folder,
        **kwargs,
    ).document


@pytest.fixture
def brand(acme):
    return Folder.objects.create(account=acme, name="Brand assets")


@pytest.fixture
def logo_task(plan, people, brand):
    return services.task_add(
        actor=people["staff_on_team"],
        matter=plan.matter,
        title="Send the logo",
        kind="upload",
        folder=brand.public_id,
        assignee="client",
    )


def test_an_upload_into_the_folder_completes_the_task(
    plan, people, acme, brand, logo_task, django_capture_on_commit_callbacks
):
    member = people["client_member"]
    with django_capture_on_commit_callbacks(execute=True):
        uploaded(member, acme, brand)
    logo_task.refresh_from_db()
    assert logo_task.done and logo_task.done_by == member
    frame = plan_frames()[-1]
    assert (frame["type"], frame["summary"]) == (
        "task.done",
        "Morgan Member added a document for “Send the logo”",
    )
    assert frame["task"]["done"] is True
    # The task was the client's: the other client person is told, not the uploader.
    told_of_done = set(
        Notification.objects.filter(kind="task", seq=frame["seq"]).values_list("user", flat=True)
    )
    assert told_of_done == {people["client_admin"].pk}
    # A new version of a document there adds nothing: the task is done already.
    events = len(plan_frames())
    with django_capture_on_commit_callbacks(execute=True):
        uploaded(member, acme, brand, data=b"logo 2\n")
    assert len(plan_frames()) == events


def test_an_upload_elsewhere_leaves_the_task_open(
    plan, people, acme, globex, brand, logo_task, django_capture_on_commit_callbacks
):
    other = Folder.objects.create(account=acme, name="Contracts")
    theirs = Folder.objects.create(account=globex, name="Brand assets")
    with django_capture_on_commit_callbacks(execute=True):
        uploaded(people["client_member"], acme, other)
        uploaded(people["client_member"], acme)
        uploaded(people["other_client"], globex, theirs)
    logo_task.refresh_from_db()
    assert not logo_task.done


def test_a_new_version_in_the_folder_completes_a_task_added_since(
    plan, people, acme, brand, django_capture_on_commit_callbacks
):
    staff = people["staff_on_team"]
    with django_capture_on_commit_callbacks(execute=True):
        document = uploaded(staff, acme, brand)
    task = services.task_add(
        actor=staff, matter=plan.matter, title="New logo", kind="upload", folder=brand.public_id
    )
    with django_capture_on_commit_callbacks(execute=True):
        vault_services.version_add(
            actor=staff, document=document, upload=sealed_upload(b"v2", "logo.png")
        )
    task.refresh_from_db()
    assert task.done and task.done_by == staff


def test_a_privileged_document_completes_its_own_matters_tasks_only(
    plan, people, acme, brand, logo_task, django_capture_on_commit_callbacks
):
    staff = people["staff_on_team"]
    secret = factories.matter(acme, privileged=True, grants=(staff,))
    hidden = services.task_add(
        actor=staff, matter=secret, title="Hidden", kind="upload", folder=brand.public_id
    )
    with django_capture_on_commit_callbacks(execute=True):
        uploaded(staff, acme, brand, privileged=True, matter_id=secret.public_id)
    logo_task.refresh_from_db()
    hidden.refresh_from_db()
    assert hidden.done and not logo_task.done


def _ask(people, acme, approvers):
    document = uploaded(people["staff_on_team"], acme, data=b"design\n")
    return approval_services.approval_create(
        actor=people["staff_on_team"],
        account=acme,
        title="Homepage design",
        versions=[document.latest_version.public_id],
        approvers=[p.public_id for p in approvers],
        policy_value="all",
    )


def test_an_approval_completes_its_task_done_by_the_last_approver(
    plan, people, acme, django_capture_on_commit_callbacks
):
    admin, member = people["client_admin"], people["client_member"]
    with django_capture_on_commit_callbacks(execute=True):
        request = _ask(people, acme, [admin, member])
    task = services.task_add(
        actor=people["staff_on_team"],
        matter=plan.matter,
        title="Approve the design",
        kind="approval",
        approval=request.public_id,
        assignee="client",
    )
    with django_capture_on_commit_callbacks(execute=True):
        approval_services.approval_decide(actor=admin, request=request, verdict="approve")
    task.refresh_from_db()
    assert not task.done
    with django_capture_on_commit_callbacks(execute=True):
        approval_services.approval_decide(actor=member, request=request, verdict="approve")
    task.refresh_from_db()
    assert task.done and task.done_by == member
    assert (
        plan_frames()[-1]["summary"] == "Morgan Member approved the request of “Approve the design”"
    )


def test_a_rejection_leaves_the_task_open(plan, people, acme, django_capture_on_commit_callbacks):
    admin = people["client_admin"]
    with django_capture_on_commit_callbacks(execute=True):
        request = _ask(people, acme, [admin])
    task = services.task_add(
        actor=people["staff_on_team"],
        matter=plan.matter,
        title="Approve",
        kind="approval",
        approval=request.public_id,
    )
    with django_capture_on_commit_callbacks(execute=True):
        approval_services.approval_decide(
            actor=admin, request=request, verdict="reject", comment="No"
        )
    task.refresh_from_db()
    assert not task.done


def test_a_task_linked_to_a_request_already_approved_is_done_at_once(
    plan, people, acme, django_capture_on_commit_callbacks
):
    admin = people["client_admin"]
    with django_capture_on_commit_callbacks(execute=True):
        request = _ask(people, acme, [admin])
        approval_services.approval_decide(actor=admin, request=request, verdict="approve")
    task = services.task_add(
        actor=people["staff_on_team"],
        matter=plan.matter,
        title="Approve",
        kind="approval",
        approval=request.public_id,
    )
    assert Task.objects.get(pk=task.pk).done


def test_linking_a_task_to_a_request_already_approved_completes_it(
    plan, people, acme, django_capture_on_commit_callbacks
):
    admin, staff = people["client_admin"], people["staff_on_team"]
    with django_capture_on_commit_callbacks(execute=True):
        request = _ask(people, acme, [admin])
        approval_services.approval_decide(actor=admin, request=request, verdict="approve")
    services.task_change(
        actor=staff, task=plan.team, fields={"kind": "approval", "approval": request.public_id}
    )
    plan.team.refresh_from_db()
    assert plan.team.done and plan.team.done_by is None
    assert [f["type"] for f in plan_frames()] == ["task.changed", "task.done"]
    assert (
        plan_frames()[-1]["summary"]
        == "“Draft the sitemap” is done: its approval request was approved"
    )
