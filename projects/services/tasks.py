"""Tasks of a matter's plan: adding, changing, ticking and removing them, and completing them
from what they wait for (``projects.receivers``).

Who may do what is ``accounts.permissions.can_on_task``: ticking (done or not done) is for the
task's assignee, any of the account's client people for a task of "the client", and the
account team; every other change is the account team's. Someone who sees the task but may
not do it gets ``Forbidden``; anyone else ``NotFound``. Each write is announced
(``projects.announce``); a change that changes nothing is not.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts import permissions
from accounts.errors import Forbidden, Invalid, NotFound
from accounts.models import Matter, User
from accounts.permissions import TaskAction
from approvals.models import ApprovalRequest
from approvals.models import Status as ApprovalStatus
from projects import events
from projects.announce import plan_announce, quoted, said
from projects.models import Task, TaskKind
from projects.services.lookups import (
    Checks,
    approval_in,
    assignee_in,
    checked_bool,
    checked_date,
    checked_fields,
    checked_kind,
    checked_title,
    day_text,
    folder_in,
    matter_change_check,
    milestone_in,
)
from vault.models import Folder

log = logging.getLogger(__name__)

TASK_FIELDS = frozenset(
    {"title", "milestone", "assignee", "due", "kind", "folder", "approval", "done"}
)


def _task_check(actor: User, task: Task, action: TaskAction) -> None:
    if permissions.can_on_task(actor, action, task):
        return
    if permissions.can_on_task(actor, TaskAction.VIEW, task):
        raise Forbidden(
            "Only whose the task is, or the account team, may tick it."
            if action == TaskAction.TICK
            else "Only the account team changes tasks."
        )
    raise NotFound


def _checked_target(
    checks: Checks, kind: str, folder: Folder | None, approval: ApprovalRequest | None
) -> None:
    """An upload task waits for a folder, an approval task for a request; the others for
    neither."""
    if kind == TaskKind.UPLOAD and folder is None:
        checks.fail(Invalid("An upload task needs a folder.", fields={"folder": "required"}))
    if kind != TaskKind.UPLOAD and folder is not None:
        checks.fail(Invalid("Only an upload task has a folder.", fields={"folder": "invalid"}))
    if kind == TaskKind.APPROVAL and approval is None:
        checks.fail(
            Invalid("An approval task needs an approval request.", fields={"approval": "required"})
        )
    if kind != TaskKind.APPROVAL and approval is not None:
        checks.fail(
            Invalid(
                "Only an approval task has an approval request.", fields={"approval": "invalid"}
            )
        )


def _target(checks: Checks, name: str, kind: str, needs: str, current, wanted: dict):
    """What a changed task waits for (its folder, or its request), as ``_checked_target``
    asks when the kind or the target changes: a kind that does not wait for it drops the
    current one; naming one for such a kind is invalid."""
    given = name in wanted
    value = wanted[name] if given else current
    if not given and "kind" not in wanted:
        # Left as it is: a task made from a template may still wait to be linked.
        return current
    if kind != needs:
        if given and value is not None:
            what = "a folder" if needs == TaskKind.UPLOAD else "an approval request"
            checks.fail(Invalid(f"Only an {needs} task has {what}.", fields={name: "invalid"}))
        return None
    if value is None:
        checks.fail(Invalid(f"An {needs} task needs its {name}.", fields={name: "required"}))
    return value


def _already_approved(task: Task) -> bool:
    return task.approval is not None and task.approval.status == ApprovalStatus.APPROVED


def task_add(
    *,
    actor: User,
    matter: Matter,
    title: object,
    milestone: object = None,
    assignee: object = None,
    due: object = None,
    kind: object = TaskKind.TODO,
    folder: object = None,
    approval: object = None,
) -> Task:
    """A task at the end of the plan. ``milestone`` "mil_…" of this matter, ``assignee``
    "usr_…" | "client" | None, ``due`` "YYYY-MM-DD", ``kind`` todo/upload/approval with
    ``folder`` "fld_…" (upload) or ``approval`` "apr_…" (approval) of the matter's account.
    Invalid lists every field at fault (a milestone of another matter: ``not_found``). A task
    waiting for a request already approved is done at once."""
    matter_change_check(actor, matter)
    checks = Checks()
    title = checks(checked_title, title)
    milestone = checks(milestone_in, matter, milestone)
    person, for_client = checks(assignee_in, matter, assignee) or (None, False)
    due = checks(checked_date, due, "due")
    kind = checks(checked_kind, kind) or TaskKind.TODO
    folder = checks(folder_in, matter, folder)
    approval = checks(approval_in, matter, approval)
    checks.raise_any()
    _checked_target(checks, kind, folder, approval)
    checks.raise_any()
    with transaction.atomic():
        Matter.objects.select_for_update().filter(pk=matter.pk).values_list("pk", flat=True).get()
        last = Task.objects.filter(matter=matter).aggregate(last=Max("position"))["last"]
        task = Task(
            matter=matter,
            milestone=milestone,
            title=title,
            kind=kind,
            assignee=person,
            for_client=for_client,
            due=due,
            folder=folder,
            approval=approval,
            position=0 if last is None else last + 1,
            created_by=actor,
        )
        if _already_approved(task):
            task.done_at = timezone.now()
        task.save()
        plan_announce(
            actor=actor,
            matter=matter,
            event_type=events.TASK_ADDED,
            summary=said(actor, f"added the task {quoted(title)}"),
            task=task,
            milestone=milestone,
        )
    return task


def _assignee_text(task: Task) -> str:
    if task.for_client:
        return "the client"
    return task.assignee.name if task.assignee is not None else "nobody"


def _change_phrase(task: Task, before: dict) -> str:
    name = quoted(task.title)
    if len(before) == 1:
        (field,) = before
        if field == "title":
            return f"renamed the task {quoted(before['title'])} to {name}"
        if field == "due":
            when = day_text(task.due) if task.due is not None else "no date"
            return f"moved {name} to {when}"
        if field == "assignee":
            return f"gave {name} to {_assignee_text(task)}"
        if field == "milestone":
            where = (
                f"the milestone {quoted(task.milestone.title)}"
                if task.milestone is not None
                else "no milestone"
            )
            return f"moved {name} to {where}"
    words = {
        "title": "title",
        "milestone": "milestone",
        "assignee": "assignee",
        "due": "due date",
        "kind": "kind",
        "folder": "folder",
        "approval": "approval request",
    }
    return f"changed the task {name} ({', '.join(words[key] for key in before)})"


def task_change(*, actor: User, task: Task, fields: object) -> Task:
    """Change ``title``, ``milestone``, ``assignee``, ``due``, ``kind``, ``folder``,
    ``approval`` (the account team) and ``done`` (true/false: whoever may tick it;
    ``task_set_done``). Checks every permission and field before writing anything. A kind
    other than upload drops the folder, other than approval the request."""
    if not permissions.can_on_task(actor, TaskAction.VIEW, task):
        raise NotFound
    fields = checked_fields(fields, TASK_FIELDS)
    edits = {name: value for name, value in fields.items() if name != "done"}
    if edits:
        _task_check(actor, task, TaskAction.CHANGE)
    if "done" in fields:
        _task_check(actor, task, TaskAction.TICK)
    matter = task.matter
    checks = Checks()
    wanted: dict = {}
    if "title" in edits:
        wanted["title"] = checks(checked_title, edits["title"])
    if "milestone" in edits:
        wanted["milestone"] = checks(milestone_in, matter, edits["milestone"])
    if "assignee" in edits:
        wanted["assignee"] = checks(assignee_in, matter, edits["assignee"]) or (None, False)
    if "due" in edits:
        wanted["due"] = checks(checked_date, edits["due"], "due")
    if "kind" in edits:
        wanted["kind"] = checks(checked_kind, edits["kind"])
    if "folder" in edits:
        wanted["folder"] = checks(folder_in, matter, edits["folder"])
    if "approval" in edits:
        wanted["approval"] = checks(approval_in, matter, edits["approval"])
    done = checks(checked_bool, fields["done"], "done") if "done" in fields else None
    checks.raise_any()
    kind = wanted.get("kind") or task.kind
    folder = _target(checks, "folder", kind, TaskKind.UPLOAD, task.folder, wanted)
    approval = _target(checks, "approval", kind, TaskKind.APPROVAL, task.approval, wanted)
    checks.raise_any()
    with transaction.atomic():
        before = _apply(task, wanted, kind, folder, approval)
        if before:
            task.updated_at = timezone.now()
            task.save(
                update_fields=[
                    "title",
                    "milestone",
                    "assignee",
                    "for_client",
                    "due",
                    "kind",
                    "folder",
                    "approval",
                    "updated_at",
                ]
            )
            plan_announce(
                actor=actor,
                matter=matter,
                event_type=events.TASK_CHANGED,
                summary=said(actor, _change_phrase(task, before)),
                task=task,
                milestone=task.milestone,
            )
        if done is not None:
            _set_done(actor=actor, task=task, done=done)
        elif "approval" in before and _already_approved(task):
            # Linked to a request approved already: it will not be approved again.
            _set_done(
                actor=None,
                task=task,
                done=True,
                phrase=f"{quoted(task.title)} is done: its approval request was approved",
            )
    return task


def _apply(task: Task, wanted: dict, kind: str, folder, approval) -> dict:
    """Set what differs on ``task``; returns the fields changed, with their former values."""
    before: dict = {}

    def put(name: str, value) -> None:
        if getattr(task, name) != value:
            before[name] = getattr(task, name)
            setattr(task, name, value)

    for name in ("title", "milestone", "due"):
        if name in wanted:
            put(name, wanted[name])
    if "assignee" in wanted:
        person, for_client = wanted["assignee"]
        if (task.assignee_id, task.for_client) != (person.pk if person else None, for_client):
            before["assignee"] = (task.assignee, task.for_client)
            task.assignee, task.for_client = person, for_client
    put("kind", kind)
    put("folder", folder)
    put("approval", approval)
    return before


def _set_done(*, actor: User | None, task: Task, done: bool, phrase: str | None = None) -> bool:
    """Mark the task done by ``actor`` (or not done), under its row lock; False when it
    already was. ``phrase`` says how, for a task done by what it waited for."""
    with transaction.atomic():
        locked = Task.objects.select_for_update().filter(pk=task.pk).values("done_at").first()
        if locked is None or (locked["done_at"] is not None) == done:
            return False
        now = timezone.now()
        task.done_at, task.done_by = (now, actor) if done else (None, None)
        task.updated_at = now
        task.save(update_fields=["done_at", "done_by", "updated_at"])
        if phrase is None:
            phrase = f"{'ticked' if done else 'reopened'} {quoted(task.title)}"
        plan_announce(
            actor=actor,
            matter=task.matter,
            event_type=events.TASK_DONE if done else events.TASK_REOPENED,
            summary=said(actor, phrase),
            task=task,
            milestone=task.milestone,
        )
    return True


def task_set_done(*, actor: User, task: Task, done: object) -> Task:
    """Tick the task (``done`` true) or untick it, if the actor may
    (``can_on_task`` TICK): Forbidden for someone who sees it but may not, NotFound for
    anyone else. Setting what it already is changes nothing and announces nothing."""
    _task_check(actor, task, TaskAction.TICK)
    done = checked_bool(done, "done")
    _set_done(actor=actor, task=task, done=done)
    return task


def task_delete(*, actor: User, task: Task) -> None:
    """Remove a task (the account team). Its assignee is told."""
    _task_check(actor, task, TaskAction.CHANGE)
    with transaction.atomic():
        milestone = task.milestone
        task.delete()
        plan_announce(
            actor=actor,
            matter=task.matter,
            event_type=events.TASK_CHANGED,
            summary=said(actor, f"removed the task {quoted(task.title)}"),
            task=task,
            milestone=milestone,
        )


def tasks_complete(*, tasks: list[Task], by: User | None, phrase: str) -> int:
    """Mark done, by ``by`` (None: the portal itself), the open tasks among ``tasks`` that
    what they waited for has happened to; ``phrase`` says how ("uploaded a document for
    {task}"). No permission check: the caller has established the fact (a document stored
    in the task's folder, a request approved). Returns how many were done."""
    done = 0
    for task in tasks:
        try:
            if _set_done(
                actor=by, task=task, done=True, phrase=phrase.format(task=quoted(task.title))
            ):
                done += 1
        except Exception:
            # One task failing to complete never keeps the others from it.
            log.exception("projects: completing %s failed", task.public_id)
    return done
