"""Task counts for many matters and milestones at once, in a constant number of queries:
what every list of matters (the API, the client's status page, the staff board, the digest)
shows as progress and as the next milestone. Callers pass matters already filtered by what
the viewer may see."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.db import connection
from django.db.models import Count, F, OuterRef, Q, Subquery, Window
from django.db.models.functions import RowNumber
from django.db.models.lookups import IsNull

from projects.models import Milestone, Task
from projects.progress import Counts
from projects.selectors.ids import AnyOf


def _counts(rows: Iterable[dict], key: str) -> dict[int, Counts]:
    return {
        row[key]: Counts(total=row["total"], done=row["done"], overdue=row["overdue"])
        for row in rows
    }


def _aggregates(today: date) -> dict:
    return {
        "total": Count("pk"),
        "done": Count("pk", filter=Q(done_at__isnull=False)),
        "overdue": Count("pk", filter=Q(done_at__isnull=True, due__lt=today)),
    }


def matter_counts(matter_ids: Iterable[int], *, today: date) -> dict[int, Counts]:
    """Task counts per matter pk (one query); a matter with no task is absent (``Counts()``)."""
    ids = list(matter_ids)
    if not ids:
        return {}
    rows = (
        Task.objects.filter(AnyOf(F("matter_id"), ids))
        .values("matter_id")
        .order_by()
        .annotate(**_aggregates(today))
    )
    return _counts(rows, "matter_id")


def milestone_counts(milestone_ids: Iterable[int], *, today: date) -> dict[int, Counts]:
    """Task counts per milestone pk (one query); a milestone with no task is absent."""
    ids = list(milestone_ids)
    if not ids:
        return {}
    rows = (
        Task.objects.filter(AnyOf(F("milestone_id"), ids))
        .values("milestone_id")
        .order_by()
        .annotate(**_aggregates(today))
    )
    return _counts(rows, "milestone_id")


def not_done_milestones() -> IsNull:
    """Milestones not done: with no task, or with an open one. Both read as one probe of the
    ``(milestone, done_at)`` index: the milestone's first task, open ones first, has no
    ``done_at`` (or there is none). One scalar subquery rather than ``EXISTS … OR NOT EXISTS``,
    which PostgreSQL answers by hashing every task of the firm."""
    first = (
        Task.objects.filter(milestone_id=OuterRef("pk"))
        .order_by(F("done_at").desc(nulls_first=True))
        .values("done_at")[:1]
    )
    return IsNull(Subquery(first), True)


def next_milestones(matter_ids: Iterable[int]) -> dict[int, Milestone]:
    """Per matter pk, its next milestone: the earliest-due one that is not done (done: it has
    tasks and all are done), ties broken by position; a matter with none is absent. One query
    whatever the number of matters: ``DISTINCT ON (matter_id)`` on PostgreSQL, a window
    function elsewhere."""
    ids = list(matter_ids)
    if not ids:
        return {}
    pending = Milestone.objects.filter(not_done_milestones(), AnyOf(F("matter_id"), ids))
    if connection.vendor == "postgresql":
        first = pending.order_by("matter_id", "due", "position", "pk").distinct("matter_id")
    else:
        first = pending.annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("matter_id")],
                order_by=[F("due"), F("position"), F("pk")],
            )
        ).filter(rank=1)
    return {milestone.matter_id: milestone for milestone in first}
