"""The staff board: every matter of every client a staff member serves, what is late first.

A matter is late by the days since the earliest thing it should have finished and has not:
an open task past its due date, a milestone past its due date and not done (done: it has
tasks and all are done), or its target date passed with tasks still open (or none planned)
and the matter not marked done. The board puts the latest first (most days late), then the
rest by target date (the nearest first, a matter without one last), then by client and
title, so the order is stable between visits.

Every figure comes from three queries whatever the number of matters, milestones and
tasks: the matters, their tasks counted per milestone, and their milestones. The counts and
the next milestone follow the same rules as ``projects.selectors.progress``, which reads
them for other lists (``tests/projects/test_board.py`` holds the two to the same answers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Count, Min, Q

from accounts import permissions
from accounts.models import ClientAccount, Matter, MatterStatus, User
from projects.models import Milestone, Task
from projects.progress import Counts


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


@dataclass
class _Plan:
    """What the board reads of one matter's plan."""

    counts: Counts = field(default_factory=Counts)
    next_milestone: Milestone | None = None
    overdue_milestones: int = 0
    # The earliest due date of an open task, or of an unfinished milestone, past due.
    earliest_missed: date | None = None

    def missed(self, due: date | None) -> None:
        if due is not None and (self.earliest_missed is None or due < self.earliest_missed):
            self.earliest_missed = due


def _plans(matter_ids: list[int], *, today: date) -> dict[int, _Plan]:
    """Per matter pk, its counts, next milestone and what is past due, in two queries: the
    tasks counted per matter and milestone (one pass over the tasks), and the milestones'
    own rows; the rest is arithmetic on what they return."""
    if not matter_ids:
        return {}
    open_past_due = Q(done_at__isnull=True, due__lt=today)
    groups = (
        Task.objects.filter(matter_id__in=matter_ids)
        .values_list("matter_id", "milestone_id")
        .order_by()
        .annotate(
            total=Count("pk"),
            done=Count("pk", filter=Q(done_at__isnull=False)),
            overdue=Count("pk", filter=open_past_due),
            earliest=Min("due", filter=open_past_due),
        )
    )
    plans: dict[int, _Plan] = {}
    tasks_of_milestone: dict[int, tuple[int, int]] = {}
    for matter_id, milestone_id, total, done, overdue, earliest in groups:
        plan = plans.setdefault(matter_id, _Plan())
        counts = plan.counts
        plan.counts = Counts(
            total=counts.total + total, done=counts.done + done, overdue=counts.overdue + overdue
        )
        plan.missed(earliest)
        if milestone_id is not None:
            tasks_of_milestone[milestone_id] = (total, done)
    # Rows, not model instances: a firm's thousands of milestones are read on every visit,
    # and only each matter's next one is shown.
    milestones = (
        Milestone.objects.filter(matter_id__in=matter_ids)
        .order_by("matter_id", "due", "position")
        .values_list("pk", "public_id", "matter_id", "title", "due", "position")
    )
    for pk, public_id, matter_id, title, due, position in milestones:
        total, done = tasks_of_milestone.get(pk, (0, 0))
        if total and done == total:
            continue
        plan = plans.setdefault(matter_id, _Plan())
        # Ordered by due date, then position: the first one not done is the next.
        if plan.next_milestone is None:
            plan.next_milestone = Milestone(
                pk=pk,
                public_id=public_id,
                matter_id=matter_id,
                title=title,
                due=due,
                position=position,
            )
        if due < today:
            plan.overdue_milestones += 1
            plan.missed(due)
    return plans


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
    plans = _plans([m.pk for m in matters], today=today)
    rows = []
    for matter in matters:
        plan = plans.get(matter.pk) or _Plan()
        counts = plan.counts
        past_target = (
            matter.target_date is not None
            and matter.target_date < today
            and matter.status != MatterStatus.DONE
            and (counts.total == 0 or counts.done < counts.total)
        )
        missed = [d for d in (plan.earliest_missed, past_target and matter.target_date) if d]
        rows.append(
            BoardRow(
                matter=matter,
                counts=counts,
                next_milestone=plan.next_milestone,
                overdue_milestones=plan.overdue_milestones,
                days_late=(today - min(missed)).days if missed else 0,
                past_target=past_target,
            )
        )
    rows.sort(key=_sort_key)
    return rows
