"""The staff board: every matter of every client a staff member serves, what is late first.

A matter is late by the days since the earliest thing it should have finished and has not:
an open task past its due date, a milestone past its due date and not done (done: it has
tasks and all are done), or its target date passed with tasks still open (or none planned)
and the matter not marked done. The board puts the latest first (most days late), then the
rest by target date (the nearest first, a matter without one last), then by client and
title, so the order is stable between visits.

Every figure comes from a fixed set of queries whatever the number of matters, milestones
and tasks: the matters, their task counts, their next milestones, their overdue milestones
and the earliest due date of their overdue tasks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Exists, Min, OuterRef

from accounts import permissions
from accounts.models import ClientAccount, Matter, MatterStatus, User
from projects.models import Milestone, Task
from projects.progress import Counts
from projects.selectors.progress import matter_counts, next_milestones


@dataclass(frozen=True)
class BoardRow:
    """One matter on the board, with what the board says about it."""

    matter: Matter
    counts: Counts
    next_milestone: Milestone | None
    # Milestones past their due date and not done.
    overdue_milestones: int
    # Days since the earliest missed date (task, milestone or target); 0: nothing is late.
    days_late: int
    # The target date passed and the work is not finished.
    past_target: bool

    @property
    def account(self) -> ClientAccount:
        return self.matter.account

    @property
    def owner(self) -> User | None:
        return self.matter.owner

    @property
    def progress(self) -> int:
        return self.counts.progress

    @property
    def overdue_tasks(self) -> int:
        return self.counts.overdue

    @property
    def late(self) -> bool:
        return self.days_late > 0


def _overdue_milestones(matter_ids: list[int], *, today: date) -> dict[int, tuple[int, date]]:
    """Per matter pk: how many milestones are past due and not done, and the earliest due
    date among them (one query)."""
    tasks = Task.objects.filter(milestone=OuterRef("pk"))
    rows = (
        Milestone.objects.filter(matter_id__in=matter_ids, due__lt=today)
        # Not done: no task yet, or one still open.
        .filter(~Exists(tasks) | Exists(tasks.filter(done_at__isnull=True)))
        .values("matter_id")
        .order_by()
        .annotate(count=Count("pk"), earliest=Min("due"))
    )
    return {row["matter_id"]: (row["count"], row["earliest"]) for row in rows}


def _earliest_overdue_tasks(matter_ids: list[int], *, today: date) -> dict[int, date]:
    """Per matter pk, the earliest due date of its open tasks past due (one query)."""
    rows = (
        Task.objects.filter(matter_id__in=matter_ids, done_at__isnull=True, due__lt=today)
        .values("matter_id")
        .order_by()
        .annotate(earliest=Min("due"))
    )
    return {row["matter_id"]: row["earliest"] for row in rows}


def _sort_key(row: BoardRow) -> tuple:
    target = row.matter.target_date
    return (
        -row.days_late,
        target is None,
        target or date.min,
        row.matter.account.name.casefold(),
        row.matter.title.casefold(),
        row.matter.public_id,
    )


def staff_board(
    user: User,
    *,
    today: date,
    account: ClientAccount | None = None,
    owner: User | None = None,
) -> list[BoardRow]:
    """Every matter ``user`` may see on the accounts they serve (a firm admin: every
    account; a privileged matter only with a grant), the latest first. ``account`` keeps
    one client's, ``owner`` the matters that person owns. Empty for anyone not firm staff:
    the board is the firm's view of its work, never a client's."""
    if not (user.is_authenticated and user.is_active and user.is_firm_staff):
        return []
    matters = permissions.matters_visible_to(user, account)
    if owner is not None:
        matters = matters.filter(owner=owner)
    matters = list(matters.select_related("account", "owner").order_by())
    ids = [m.pk for m in matters]
    counts = matter_counts(ids, today=today)
    upcoming = next_milestones(ids)
    milestones_late = _overdue_milestones(ids, today=today)
    tasks_late = _earliest_overdue_tasks(ids, today=today)
    rows = []
    for matter in matters:
        matter_counts_ = counts.get(matter.pk, Counts())
        late_count, late_milestone = milestones_late.get(matter.pk, (0, None))
        past_target = (
            matter.target_date is not None
            and matter.target_date < today
            and matter.status != MatterStatus.DONE
            and (matter_counts_.total == 0 or matter_counts_.done < matter_counts_.total)
        )
        missed = [
            d
            for d in (
                tasks_late.get(matter.pk),
                late_milestone,
                matter.target_date if past_target else None,
            )
            if d is not None
        ]
        rows.append(
            BoardRow(
                matter=matter,
                counts=matter_counts_,
                next_milestone=upcoming.get(matter.pk),
                overdue_milestones=late_count,
                days_late=(today - min(missed)).days if missed else 0,
                past_target=past_target,
            )
        )
    rows.sort(key=_sort_key)
    return rows
