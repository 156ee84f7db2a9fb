"""Tasks done by what they wait for: an upload task when a document is added to its folder, an
approval task when its request is approved. Both signals are sent after the writing
transaction committed; each completion is its own transaction, announced like a tick, and a
failure is logged without undoing the upload or the decision.

And the plan versions (``projects.plan_versions``) moved by any save of a matter, milestone
or task, and any deletion of a matter, in the writing transaction: the services announce
their changes (``plan_announce`` moves the version too), but a matter's status, a matter
opened by ``accounts``, a row changed in the admin are saved without a plan announcement.
A new account starts with a version of its own."""

from __future__ import annotations

from accounts.models import ClientAccount, Matter
from approvals.models import Decision, Status, Verdict
from projects.models import Milestone, Task, TaskKind
from projects.plan_versions import plan_changed, plan_versions_moved
from projects.selectors.json import TASK_RELATED
from projects.services import tasks_complete
from vault.models import Document


def _open_tasks():
    return Task.objects.select_related(*TASK_RELATED, "matter__account").filter(
        done_at__isnull=True
    )


def on_document_changed(sender, document_pk, **kwargs) -> None:
    """A document added (or given a new version) in a folder completes the open upload tasks
    waiting in that folder, done by whoever uploaded it. A privileged document completes
    only its own matter's, so nobody else learns of it."""
    document = (
        Document.objects.select_related("latest_version__uploaded_by")
        .filter(pk=document_pk, folder__isnull=False)
        .first()
    )
    if document is None:
        return
    waiting = _open_tasks().filter(
        kind=TaskKind.UPLOAD,
        folder_id=document.folder_id,
        matter__account_id=document.account_id,
    )
    if document.privileged:
        waiting = waiting.filter(matter_id=document.matter_id)
    version = document.latest_version
    tasks_complete(
        tasks=list(waiting),
        by=version.uploaded_by if version is not None else None,
        phrase="added a document for {task}",
    )


def on_approval_closed(sender, approval_pk, status, **kwargs) -> None:
    """An approved request completes the open approval tasks linked to it, done by the
    approver whose decision settled it (None when there is none)."""
    if status != Status.APPROVED:
        return
    waiting = list(_open_tasks().filter(kind=TaskKind.APPROVAL, approval_id=approval_pk))
    if not waiting:
        return
    last = (
        Decision.objects.select_related("approver")
        .filter(request_id=approval_pk, verdict=Verdict.APPROVE)
        .order_by("-decided_at", "-pk")
        .first()
    )
    by = last.approver if last is not None else None
    tasks_complete(
        tasks=waiting,
        by=by,
        phrase="approved the request of {task}"
        if by is not None
        else "{task} is done: its approval request was approved",
    )


def on_plan_row_saved(sender, instance: Matter | Milestone | Task, raw=False, **kwargs) -> None:
    """A matter, milestone or task saved: its account's plans as kept are out of date."""
    if raw:
        return
    if isinstance(instance, Matter):
        account_id = instance.account_id
    elif type(instance).matter.is_cached(instance):
        account_id = instance.matter.account_id
    else:
        found = Matter.objects.filter(pk=instance.matter_id).values_list("account_id", flat=True)
        account_id = found.first()
    if account_id is not None:
        plan_changed(account_ids=[account_id])


def on_matter_deleted(sender, instance: Matter, **kwargs) -> None:
    """A matter deleted (alone, or with its account): its account's plans moved on."""
    plan_versions_moved(account_ids=[instance.account_id])


def on_account_saved(sender, instance: ClientAccount, created=False, raw=False, **kwargs) -> None:
    """A new account starts with a plan version."""
    if created and not raw:
        plan_changed(account_ids=[instance.pk])
