"""Due dates: the task is queued for the reminder and the expiry moments of each request (and
of each new round), and it does what is due when it runs."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from approvals import services
from approvals.models import ApprovalRequest, Status
from approvals.tasks import approvals_due
from tests.approvals.conftest import ask, new_version


def local(day, hour=0):
    return timezone.make_aware(datetime.combine(day, time(hour)))


def queued() -> list[datetime]:
    return sorted(
        DBTaskResult.objects.filter(task_path="approvals.tasks.approvals_due").values_list(
            "run_after", flat=True
        )
    )


def test_the_task_is_queued_for_the_reminder_and_the_expiry(
    acme, people, deliverables, settings, django_capture_on_commit_callbacks
):
    settings.ATRIUM_APPROVAL_EXPIRY_DAYS = 14
    due = timezone.localdate() + timedelta(days=10)
    with django_capture_on_commit_callbacks(execute=True):
        request = ask(
            people["staff_on_team"],
            acme,
            documents=[deliverables.design],
            approvers=[people["client_admin"]],
            due=due.isoformat(),
        )
    assert queued() == [local(due - timedelta(days=1)), local(due + timedelta(days=15))]
    with django_capture_on_commit_callbacks(execute=True):
        new_version(people["staff_on_team"], deliverables.design)
    assert ApprovalRequest.objects.get(pk=request.pk).round == 2
    assert len(queued()) == 4


def test_no_due_date_queues_nothing(acme, people, deliverables, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ask(
            people["staff_on_team"],
            acme,
            documents=[deliverables.design],
            approvers=[people["client_admin"]],
        )
    assert queued() == []


def test_the_task_expires_what_is_due(acme, people, deliverables, settings):
    settings.ATRIUM_APPROVAL_EXPIRY_DAYS = 0
    request = ask(
        people["staff_on_team"],
        acme,
        documents=[deliverables.design],
        approvers=[people["client_admin"]],
        due=timezone.localdate().isoformat(),
    )
    assert approvals_due.call() == {"reminded": [], "expired": []}
    ApprovalRequest.objects.filter(pk=request.pk).update(
        due=timezone.localdate() - timedelta(days=1)
    )
    assert approvals_due.call() == {"reminded": [], "expired": [request.public_id]}
    assert ApprovalRequest.objects.get(pk=request.pk).status == Status.EXPIRED


def test_a_request_waiting_for_changes_does_not_expire(acme, people, deliverables):
    request = ask(
        people["staff_on_team"],
        acme,
        documents=[deliverables.design],
        approvers=[people["client_admin"]],
        due=timezone.localdate().isoformat(),
    )
    services.approval_decide(
        actor=people["client_admin"], request=request, verdict="changes_requested", comment="x"
    )
    later = timezone.now() + timedelta(days=400)
    assert services.approvals_due_run(now=later).expired == []
    assert ApprovalRequest.objects.get(pk=request.pk).status == Status.CHANGES_REQUESTED
