"""The firm's checklist templates as a list to manage, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Max, Q

from accounts.models import User
from accounts.selectors import rows_after
from projects.models import ChecklistTemplate
from projects.services import templates_visible

TEMPLATES_PAGE = 50


@dataclass(frozen=True)
class TemplatesPage:
    rows: list[ChecklistTemplate]
    next: str | None


def templates_page(
    user: User, *, cursor: object = None, limit: int = TEMPLATES_PAGE
) -> TemplatesPage:
    """The templates by name, each with ``milestone_count``, ``task_count`` and
    ``days`` (its longest offset), in one query for the page (two with a cursor). Empty for
    anyone but firm staff. Invalid (``bad_cursor``) for a cursor that is not a template's."""
    if not templates_visible(user):
        return TemplatesPage(rows=[], next=None)
    templates = rows_after(ChecklistTemplate.objects.all(), cursor, "name", "public_id")
    rows = list(
        templates.annotate(
            milestone_count=Count("milestones", distinct=True),
            task_count=Count("tasks", distinct=True),
            milestone_days=Max("milestones__offset_days"),
            task_days=Max("tasks__offset_days", filter=Q(tasks__offset_days__isnull=False)),
        ).order_by("name")[: limit + 1]
    )
    for row in rows:
        row.days = max(row.milestone_days or 0, row.task_days or 0)
    more = len(rows) > limit
    rows = rows[:limit]
    return TemplatesPage(rows=rows, next=rows[-1].public_id if more and rows else None)
