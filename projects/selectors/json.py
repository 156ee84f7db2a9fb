"""A matter's plan as the API, the pages' data, the live events and the digest show it: one
shape per object, built here only, so that a task looks the same wherever it travels.

Each function reads only what it is handed: callers load the related rows up front
(``TASK_RELATED``, ``MATTER_RELATED``) and the counts for many matters or milestones at once
(``projects.selectors.progress``), so a list costs the same number of queries for one row or a
thousand. ``today`` is the viewer's date (``timezone.localdate()`` in their zone).
"""

from __future__ import annotations

from datetime import date

from accounts.models import Matter
from accounts.selectors import person_json
from projects.models import ChecklistTemplate, Milestone, Task
from projects.progress import Counts, is_overdue, milestone_status

# What ``task_json`` follows from a task: ``Task.objects.select_related(*TASK_RELATED)``.
TASK_RELATED = ("matter", "milestone", "assignee", "done_by", "folder", "approval")
# What ``matter_summary_json`` follows from a matter.
MATTER_RELATED = ("account", "owner")

# How an assignee is written when the task is the client's as a whole.
CLIENT = "client"


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def task_assignee_json(task: Task) -> dict | str | None:
    if task.for_client:
        return CLIENT
    return person_json(task.assignee) if task.assignee_id is not None else None


def task_json(task: Task, *, today: date) -> dict:
    return {
        "id": task.public_id,
        "title": task.title,
        "matter": task.matter.public_id,
        "milestone": task.milestone.public_id if task.milestone_id is not None else None,
        "kind": task.kind,
        "assignee": task_assignee_json(task),
        "due": _day(task.due),
        "done": task.done,
        "done_at": task.done_at.isoformat() if task.done_at is not None else None,
        "done_by": person_json(task.done_by) if task.done_by_id is not None else None,
        "overdue": is_overdue(task.due, done=task.done, today=today),
        "position": task.position,
        "folder": (
            {"id": task.folder.public_id, "name": task.folder.name}
            if task.folder_id is not None
            else None
        ),
        "approval": task.approval.public_id if task.approval_id is not None else None,
    }


def milestone_json(milestone: Milestone, counts: Counts, *, today: date) -> dict:
    status = milestone_status(counts.done, counts.total)
    return {
        "id": milestone.public_id,
        "title": milestone.title,
        "due": _day(milestone.due),
        "status": status.value,
        "progress": counts.progress,
        "overdue": is_overdue(milestone.due, done=status == "done", today=today),
        "tasks": counts.as_json(),
        "position": milestone.position,
    }


def next_milestone_json(milestone: Milestone | None, *, today: date) -> dict | None:
    """The next milestone of a matter (``progress.next_milestones``: never a done one)."""
    if milestone is None:
        return None
    return {
        "id": milestone.public_id,
        "title": milestone.title,
        "due": _day(milestone.due),
        "overdue": is_overdue(milestone.due, done=False, today=today),
    }


def matter_overdue(matter: Matter, counts: Counts, *, today: date) -> bool:
    """Late: its target date has passed short of 100 %, or any of its tasks is overdue."""
    target_passed = matter.target_date is not None and matter.target_date < today
    return (target_passed and counts.progress < 100) or counts.overdue > 0


def matter_summary_json(
    matter: Matter, counts: Counts, next_milestone: Milestone | None, *, today: date
) -> dict:
    return {
        "id": matter.public_id,
        "account": matter.account.public_id,
        "title": matter.title,
        "description": matter.description,
        "status": matter.status,
        "privileged": matter.privileged,
        "start": _day(matter.start_date),
        "target": _day(matter.target_date),
        "owner": person_json(matter.owner) if matter.owner_id is not None else None,
        "progress": counts.progress,
        "tasks": counts.as_json(),
        "overdue": matter_overdue(matter, counts, today=today),
        "next_milestone": next_milestone_json(next_milestone, today=today),
    }


def template_json(template: ChecklistTemplate) -> dict:
    """A template with its milestones and tasks in order: load it with
    ``prefetch_related("milestones", "tasks")`` for lists. A task's ``milestone`` is the
    index of its milestone in ``milestones``."""
    milestones = sorted(template.milestones.all(), key=lambda row: row.position)
    tasks = sorted(template.tasks.all(), key=lambda row: row.position)
    index = {row.pk: number for number, row in enumerate(milestones)}
    offsets = [row.offset_days for row in milestones] + [
        row.offset_days for row in tasks if row.offset_days is not None
    ]
    return {
        "id": template.public_id,
        "name": template.name,
        "description": template.description,
        "days": max(offsets, default=0),
        "milestones": [{"title": row.title, "offset_days": row.offset_days} for row in milestones],
        "tasks": [
            {
                "title": row.title,
                "kind": row.kind,
                "for_client": row.for_client,
                "offset_days": row.offset_days,
                "folder": row.folder_name,
                "milestone": index.get(row.milestone_id) if row.milestone_id else None,
            }
            for row in tasks
        ],
    }
