"""Matters with their plans as the API shows them (``docs/api.md``, "Projects"), filtered by
what the viewer may see (``accounts.permissions``).

Every read costs a fixed number of queries whatever the number of matters, milestones and
tasks: counts and next milestones come for a whole page at once
(``projects.selectors.progress``), and the rows each JSON shape names are joined in.
"today" is the viewer's, passed in by the caller (the middleware activates their zone).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import QuerySet

from accounts import permissions
from accounts.errors import Forbidden, NotFound
from accounts.models import ClientAccount, Matter, User
from accounts.selectors import DEFAULT_PAGE, rows_after
from projects.models import ChecklistTemplate, Milestone, Task
from projects.progress import Counts
from projects.selectors.json import (
    MATTER_RELATED,
    TASK_RELATED,
    matter_summary_json,
    milestone_json,
    task_json,
    template_json,
)
from projects.selectors.progress import matter_counts, milestone_counts, next_milestones
from projects.services.lookups import templates_visible


@dataclass(frozen=True)
class Page:
    rows: list[dict]
    next: str | None


def _summaries(matters: list[Matter], *, today: date) -> list[dict]:
    """Summaries of matters the viewer may see: two queries for the whole list."""
    ids = [matter.pk for matter in matters]
    counts = matter_counts(ids, today=today)
    upcoming = next_milestones(ids)
    return [
        matter_summary_json(
            matter, counts.get(matter.pk, Counts()), upcoming.get(matter.pk), today=today
        )
        for matter in matters
    ]


def _visible(user: User, account: ClientAccount) -> QuerySet[Matter]:
    return (
        permissions.matters_visible_to(user, account)
        .select_related(*MATTER_RELATED)
        .order_by("title", "public_id")
    )


def matters_of_account(user: User, account: ClientAccount, *, today: date) -> list[dict]:
    """Summaries of every matter of ``account`` that ``user`` may see (a privileged one only
    by an explicit grant), by title: three queries. Precondition: the user may see the
    account (``permissions.account_for``)."""
    return _summaries(list(_visible(user, account)), today=today)


def matters_page(
    user: User,
    account: ClientAccount,
    *,
    today: date,
    cursor: object = None,
    limit: int = DEFAULT_PAGE,
) -> Page:
    """``matters_of_account`` a page at a time: ``cursor`` is the id of the last matter of
    the previous page (Invalid ``bad_cursor`` if it is not one of this list's), ``next`` the
    cursor of the following page or None. Four queries with a cursor, three without."""
    matters = _visible(user, account)
    matters = rows_after(matters, cursor, "title", "public_id")
    rows = list(matters[: limit + 1])
    following = rows[limit - 1].public_id if len(rows) > limit else None
    return Page(_summaries(rows[:limit], today=today), following)


def _milestones(matter: Matter, *, today: date) -> list[dict]:
    milestones = list(Milestone.objects.filter(matter=matter).order_by("position", "pk"))
    counts = milestone_counts([milestone.pk for milestone in milestones], today=today)
    return [
        milestone_json(milestone, counts.get(milestone.pk, Counts()), today=today)
        for milestone in milestones
    ]


def _tasks(matter: Matter, *, today: date) -> list[dict]:
    tasks = list(
        Task.objects.filter(matter=matter)
        .select_related(*(name for name in TASK_RELATED if name != "matter"))
        .order_by("position", "pk")
    )
    for task in tasks:
        # Every task is this matter's: spare a join per row.
        task.matter = matter
    return [task_json(task, today=today) for task in tasks]


def matter_detail(user: User, matter: Matter, *, today: date) -> dict:
    """The matter's summary with its milestones (by position) and its tasks (by position):
    a fixed number of queries whatever their number. NotFound unless ``user`` may see the
    matter (read afresh, as the write before it left it)."""
    matter = (
        permissions.matters_visible_to(user)
        .select_related(*MATTER_RELATED)
        .filter(pk=matter.pk)
        .first()
    )
    if matter is None:
        raise NotFound
    [summary] = _summaries([matter], today=today)
    return {
        **summary,
        "milestones": _milestones(matter, today=today),
        "tasks": _tasks(matter, today=today),
    }


def milestone_detail(milestone: Milestone, *, today: date) -> dict:
    """One milestone as in ``matter_detail`` (with its task counts). Precondition: the
    viewer may see its matter."""
    counts = milestone_counts([milestone.pk], today=today)
    return milestone_json(milestone, counts.get(milestone.pk, Counts()), today=today)


def task_detail(task: Task, *, today: date) -> dict:
    """One task as in ``matter_detail``. Precondition: the viewer may see its matter."""
    task = Task.objects.select_related(*TASK_RELATED).get(pk=task.pk)
    return task_json(task, today=today)


def templates_for(user: User) -> list[dict]:
    """Every checklist template, by name, for the firm's people, who start matters from them;
    Forbidden for anyone else (a client never sees how the firm plans). Three queries."""
    if not templates_visible(user):
        raise Forbidden("Checklist templates are for the firm's people.", code="staff_only")
    templates = ChecklistTemplate.objects.order_by("name").prefetch_related("milestones", "tasks")
    return [template_json(template) for template in templates]
